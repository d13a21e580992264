// Reading one .safetensors file (docs/formats.md#safetensors): the header is
// validated in full before any TensorRef is handed out.
#include "formats/safetensors.h"

#include <algorithm>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace loam {
namespace {

// ordered_json keeps the header's tensor order for tensors().
using json = nlohmann::ordered_json;

// HF's reader refuses headers above 100 MB; a real one is a few hundred KB.
constexpr uint64_t kMaxHeaderBytes = 100u << 20;
constexpr int kMaxJsonDepth = 4;  // {"t": {"shape": [..]}} is depth 3
constexpr size_t kMaxDims = 8;

std::string tensor_where(const std::string& file, const std::string& name) {
  return file + ": tensor " + name;
}

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

// Parses the header JSON, rejecting duplicate keys at the top level (where
// nlohmann would silently keep the last) and nesting deeper than any valid
// header needs.
json header_parse(const std::string& file, const char* begin, const char* end) {
  std::set<std::string> seen;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth > kMaxJsonDepth)
      throw Error(file, "header JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    if (event == json::parse_event_t::key && depth == 1) {
      const std::string& k = parsed.get_ref<const std::string&>();
      if (!seen.insert(k).second) throw Error(tensor_where(file, k), "listed twice in the header");
    }
    return true;
  };
  try {
    return json::parse(begin, end, callback);
  } catch (const json::exception& e) {
    throw Error(file, std::string("header is not valid JSON: ") + e.what());
  }
}

uint64_t json_u64(const json& v, const std::string& where, const char* field) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) {
    if (v.get<int64_t>() < 0) throw Error(where, std::string(field) + " has a negative value " + v.dump());
    return static_cast<uint64_t>(v.get<int64_t>());
  }
  throw Error(where, std::string(field) + " must hold non-negative integers, got " + v.dump());
}

std::map<std::string, std::string> metadata_parse(const std::string& file, const json& m) {
  if (!m.is_object()) throw Error(file + ": __metadata__", "must be an object of strings");
  std::map<std::string, std::string> out;
  for (auto it = m.begin(); it != m.end(); ++it) {
    if (!it.value().is_string())
      throw Error(file + ": __metadata__." + it.key(), "must be a string, got " + it.value().dump());
    out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

// Validates one header entry against a data section of `data_size` bytes
// starting at `data`; returns the view. Offsets are checked before use.
TensorRef tensor_parse(const std::string& file, const std::string& name, const json& e,
                       const uint8_t* data, uint64_t data_size) {
  const std::string where = tensor_where(file, name);
  if (!e.is_object()) throw Error(where, "header entry must be an object with dtype, shape, data_offsets");
  auto dt = e.find("dtype");
  auto sh = e.find("shape");
  auto off = e.find("data_offsets");
  if (dt == e.end() || !dt->is_string()) throw Error(where, "missing or non-string \"dtype\"");
  if (sh == e.end() || !sh->is_array()) throw Error(where, "missing or non-array \"shape\"");
  if (off == e.end() || !off->is_array() || off->size() != 2)
    throw Error(where, "\"data_offsets\" must be an array [begin, end]");
  TensorRef t;
  t.name = name;
  t.file = file;
  const std::string dtype_str = dt->get<std::string>();
  auto dtype = dtype_from_name(dtype_str);
  if (!dtype)
    throw Error(where, "unknown dtype \"" + dtype_str + "\"",
                "supported: F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL");
  t.dtype = *dtype;
  if (sh->size() > kMaxDims) throw Error(where, "shape has " + std::to_string(sh->size()) + " dims");
  uint64_t n = 1;
  for (const json& d : *sh) {
    uint64_t v = json_u64(d, where, "shape");
    if (v > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(n, v, &n))
      throw Error(where, "shape " + sh->dump() + " overflows 64 bits");
    t.shape.push_back(static_cast<int64_t>(v));
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(n, static_cast<uint64_t>(dtype_bytes(t.dtype, 1)), &bytes))
    throw Error(where, "shape " + sh->dump() + " overflows 64 bits");
  const uint64_t begin = json_u64((*off)[0], where, "data_offsets");
  const uint64_t end = json_u64((*off)[1], where, "data_offsets");
  const std::string off_str = "data_offsets [" + std::to_string(begin) + "," + std::to_string(end) + "]";
  if (end < begin) throw Error(where, off_str + " end before begin");
  if (end > data_size)
    throw Error(where, off_str + " exceed the file's data section (" + std::to_string(data_size) + " bytes)",
                "the file is truncated or its header is corrupt");
  if (end - begin != bytes)
    throw Error(where, off_str + " hold " + std::to_string(end - begin) + " bytes but shape " + sh->dump() +
                           " of " + dtype_str + " needs " + std::to_string(bytes));
  t.data = data + begin;
  t.n_bytes = static_cast<size_t>(bytes);
  return t;
}

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  MappedFile map = MappedFile::open(path);
  SafetensorsFile f = parse(path, map.data(), map.size());
  f.map_ = std::move(map);  // moving the map keeps its address: views stay valid
  return f;
}

SafetensorsFile SafetensorsFile::parse(const std::string& name, const uint8_t* data, size_t size) {
  SafetensorsFile f;
  f.path_ = name;
  if (size < 8)
    throw Error(name, "file is " + std::to_string(size) + " bytes, too short for the 8-byte header length",
                "the file is truncated or not a safetensors file");
  const uint64_t n = read_u64_le(data);
  if (n > size - 8)
    throw Error(name, "header length " + std::to_string(n) + " exceeds the file (" + std::to_string(size) +
                          " bytes)", "the file is truncated or not a safetensors file");
  if (n > kMaxHeaderBytes) throw Error(name, "header length " + std::to_string(n) + " is above 100 MB");
  const char* hbegin = reinterpret_cast<const char*>(data + 8);
  json header = header_parse(name, hbegin, hbegin + n);
  if (!header.is_object()) throw Error(name, "header must be a JSON object");
  const uint8_t* section = data + 8 + n;
  const uint64_t section_size = size - 8 - n;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      f.metadata_ = metadata_parse(name, it.value());
      continue;
    }
    f.tensors_.push_back(tensor_parse(name, it.key(), it.value(), section, section_size));
  }
  // Overlap check: sort views by start; each must begin at or after the
  // previous one's end. Empty tensors occupy no bytes and cannot overlap.
  std::vector<const TensorRef*> order;
  for (const TensorRef& t : f.tensors_)
    if (t.n_bytes > 0) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->data < b->data; });
  for (size_t i = 1; i < order.size(); i++) {
    if (order[i]->data < order[i - 1]->data + order[i - 1]->n_bytes)
      throw Error(tensor_where(name, order[i]->name),
                  "data overlaps tensor " + order[i - 1]->name + " (offset " +
                      std::to_string(order[i]->data - section) + " < " +
                      std::to_string(order[i - 1]->data - section + order[i - 1]->n_bytes) + ")");
  }
  for (size_t i = 0; i < f.tensors_.size(); i++) f.index_[f.tensors_[i].name] = i;
  return f;
}

const TensorRef* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace loam
