// GGUF metadata access (typed getters, rendering) and the ggml type table.
#include <algorithm>
#include <cstring>

#include "core/dtype.h"
#include "core/error.h"
#include "formats/gguf.h"

namespace loam {
namespace {

// ggml's type ids with block size and bytes per block (ggml.c type_traits).
// Ids 4, 5, 31-33 and 36-38 were removed from ggml and stay unused.
constexpr GgmlTypeInfo kGgmlTypes[] = {
    {"F32", 1, 4},        {"F16", 1, 2},         {"Q4_0", 32, 18},     {"Q4_1", 32, 20},
    {nullptr, 0, 0},      {nullptr, 0, 0},       {"Q5_0", 32, 22},     {"Q5_1", 32, 24},
    {"Q8_0", 32, 34},     {"Q8_1", 32, 36},      {"Q2_K", 256, 84},    {"Q3_K", 256, 110},
    {"Q4_K", 256, 144},   {"Q5_K", 256, 176},    {"Q6_K", 256, 210},   {"Q8_K", 256, 292},
    {"IQ2_XXS", 256, 66}, {"IQ2_XS", 256, 74},   {"IQ3_XXS", 256, 98}, {"IQ1_S", 256, 50},
    {"IQ4_NL", 32, 18},   {"IQ3_S", 256, 110},   {"IQ2_S", 256, 82},   {"IQ4_XS", 256, 136},
    {"I8", 1, 1},         {"I16", 1, 2},         {"I32", 1, 4},        {"I64", 1, 8},
    {"F64", 1, 8},        {"IQ1_M", 256, 56},    {"BF16", 1, 2},       {nullptr, 0, 0},
    {nullptr, 0, 0},      {nullptr, 0, 0},       {"TQ1_0", 256, 54},   {"TQ2_0", 256, 66},
    {nullptr, 0, 0},      {nullptr, 0, 0},       {nullptr, 0, 0},      {"MXFP4", 32, 17},
};

bool is_int(GgufType t) {
  switch (t) {
    case GgufType::U8: case GgufType::I8: case GgufType::U16: case GgufType::I16:
    case GgufType::U32: case GgufType::I32: case GgufType::U64: case GgufType::I64: return true;
    default: return false;
  }
}

// Element k of a packed numeric array, widened.
int64_t raw_int(const GgufValue& v, uint64_t k) {
  const uint8_t* p = v.raw;
  switch (v.elem) {
    case GgufType::U8: return p[k];
    case GgufType::I8: return static_cast<int8_t>(p[k]);
    case GgufType::U16: { uint16_t x; std::memcpy(&x, p + 2 * k, 2); return x; }
    case GgufType::I16: { int16_t x; std::memcpy(&x, p + 2 * k, 2); return x; }
    case GgufType::U32: { uint32_t x; std::memcpy(&x, p + 4 * k, 4); return x; }
    case GgufType::I32: { int32_t x; std::memcpy(&x, p + 4 * k, 4); return x; }
    case GgufType::U64: case GgufType::I64: { int64_t x; std::memcpy(&x, p + 8 * k, 8); return x; }
    case GgufType::BOOL: return p[k] != 0;
    default: return 0;
  }
}

double raw_float(const GgufValue& v, uint64_t k) {
  if (v.elem == GgufType::F32) { float x; std::memcpy(&x, v.raw + 4 * k, 4); return x; }
  if (v.elem == GgufType::F64) { double x; std::memcpy(&x, v.raw + 8 * k, 8); return x; }
  return static_cast<double>(raw_int(v, k));
}

std::string type_str(const GgufValue& v) {
  if (v.type != GgufType::ARRAY) return gguf_type_name(v.type);
  return std::string("array of ") + gguf_type_name(v.elem);
}

std::string scalar_to_string(const GgufValue& v) {
  switch (v.type) {
    case GgufType::F32: case GgufType::F64: return std::to_string(v.f);
    case GgufType::BOOL: return v.i ? "true" : "false";
    case GgufType::U64: return std::to_string(v.u);
    case GgufType::STRING: return "\"" + std::string(v.str) + "\"";
    default: return std::to_string(v.i);
  }
}

}  // namespace

const char* gguf_type_name(GgufType t) {
  static const char* const names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                      "bool", "string", "array", "u64", "i64", "f64"};
  auto i = static_cast<uint32_t>(t);
  return i < sizeof(names) / sizeof(names[0]) ? names[i] : "?";
}

const GgmlTypeInfo* ggml_type_info(uint32_t id) {
  if (id >= sizeof(kGgmlTypes) / sizeof(kGgmlTypes[0]) || !kGgmlTypes[id].name) return nullptr;
  return &kGgmlTypes[id];
}

std::string ggml_type_name(int id) {
  const GgmlTypeInfo* info = id >= 0 ? ggml_type_info(static_cast<uint32_t>(id)) : nullptr;
  return info ? info->name : "type " + std::to_string(id);
}

bool GgufFile::has(std::string_view key) const { return key_index_.count(key) > 0; }

const GgufValue* GgufFile::value(std::string_view key) const {
  auto it = key_index_.find(key);
  return it == key_index_.end() ? nullptr : &values_[it->second];
}

namespace {

[[noreturn]] void wrong_type(const std::string& file, std::string_view key, const GgufValue& v,
                             const char* expected) {
  throw Error(file + ": metadata key " + std::string(key), "has type " + type_str(v) + ", expected " + expected);
}

}  // namespace

std::optional<int64_t> GgufFile::get_int(std::string_view key) const {
  const GgufValue* v = value(key);
  if (!v) return std::nullopt;
  if (!is_int(v->type)) wrong_type(path_, key, *v, "an integer");
  if (v->type == GgufType::U64 && v->u > static_cast<uint64_t>(INT64_MAX))
    throw Error(path_ + ": metadata key " + std::string(key), "value " + std::to_string(v->u) + " is too large");
  return v->i;
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
  const GgufValue* v = value(key);
  if (!v) return std::nullopt;
  if (v->type == GgufType::F32 || v->type == GgufType::F64) return v->f;
  if (v->type == GgufType::U64) return static_cast<double>(v->u);
  if (is_int(v->type)) return static_cast<double>(v->i);
  wrong_type(path_, key, *v, "a number");
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
  const GgufValue* v = value(key);
  if (!v) return std::nullopt;
  if (v->type != GgufType::BOOL) wrong_type(path_, key, *v, "a bool");
  return v->i != 0;
}

std::optional<std::string> GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = value(key);
  if (!v) return std::nullopt;
  if (v->type != GgufType::STRING) wrong_type(path_, key, *v, "a string");
  return std::string(v->str);
}

std::optional<std::vector<std::string>> GgufFile::get_string_array(std::string_view key) const {
  const GgufValue* v = value(key);
  if (!v) return std::nullopt;
  if (v->type != GgufType::ARRAY || v->elem != GgufType::STRING) wrong_type(path_, key, *v, "an array of strings");
  std::vector<std::string> out;
  out.reserve(v->strs.size());
  for (std::string_view s : v->strs) out.emplace_back(s);
  return out;
}

std::optional<std::vector<float>> GgufFile::get_float_array(std::string_view key) const {
  const GgufValue* v = value(key);
  if (!v) return std::nullopt;
  if (v->type != GgufType::ARRAY || !(v->elem == GgufType::F32 || v->elem == GgufType::F64 || is_int(v->elem)))
    wrong_type(path_, key, *v, "an array of numbers");
  std::vector<float> out(v->count);
  for (uint64_t k = 0; k < v->count; k++) out[k] = static_cast<float>(raw_float(*v, k));
  return out;
}

std::optional<std::vector<int64_t>> GgufFile::get_int_array(std::string_view key) const {
  const GgufValue* v = value(key);
  if (!v) return std::nullopt;
  if (v->type != GgufType::ARRAY || !is_int(v->elem)) wrong_type(path_, key, *v, "an array of integers");
  std::vector<int64_t> out(v->count);
  for (uint64_t k = 0; k < v->count; k++) out[k] = raw_int(*v, k);
  return out;
}

std::string GgufFile::value_to_string(std::string_view key, size_t max_items) const {
  const GgufValue* v = value(key);
  if (!v) return "";
  if (v->type != GgufType::ARRAY) return scalar_to_string(*v);
  std::string s = "[";
  const uint64_t shown = std::min<uint64_t>(v->count, max_items);
  for (uint64_t k = 0; k < shown; k++) {
    if (k) s += ", ";
    if (v->elem == GgufType::STRING) s += "\"" + std::string(v->strs[k]) + "\"";
    else if (v->elem == GgufType::ARRAY) s += "[array of " + std::to_string(v->items[k].count) + "]";
    else if (v->elem == GgufType::F32 || v->elem == GgufType::F64) s += std::to_string(raw_float(*v, k));
    else if (v->elem == GgufType::BOOL) s += raw_int(*v, k) ? "true" : "false";
    else if (v->elem == GgufType::U64) s += std::to_string(static_cast<uint64_t>(raw_int(*v, k)));
    else s += std::to_string(raw_int(*v, k));
  }
  if (v->count > shown) s += ", ... (" + std::to_string(v->count) + " items)";
  return s + "]";
}

}  // namespace loam
