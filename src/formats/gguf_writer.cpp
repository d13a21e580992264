// Writing GGUF v3 files laid out as llama.cpp's gguf writer does: header,
// metadata, tensor infos, zero padding to the alignment, then each tensor's
// data padded to the alignment.
#include "formats/gguf_writer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/error.h"
#include "core/file_io.h"

namespace loam {
namespace {

template <typename T>
void put(std::string& s, T v) {
  for (size_t i = 0; i < sizeof(T); i++) s.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
}
void put_f32(std::string& s, float v) { uint32_t b; std::memcpy(&b, &v, 4); put(s, b); }
void put_f64(std::string& s, double v) { uint64_t b; std::memcpy(&b, &v, 8); put(s, b); }
void put_string(std::string& s, const std::string& v) {
  put<uint64_t>(s, v.size());
  s += v;
}
void put_type(std::string& s, GgufType t) { put<uint32_t>(s, static_cast<uint32_t>(t)); }

template <typename T>
std::string scalar(GgufType t, T v) {
  std::string s;
  put_type(s, t);
  put(s, v);
  return s;
}

uint32_t dtype_to_ggml(const std::string& where, DType t) {
  switch (t) {
    case DType::F32: return 0;
    case DType::F16: return 1;
    case DType::Q8_0: return 8;
    case DType::I8: return 24;
    case DType::I16: return 25;
    case DType::I32: return 26;
    case DType::I64: return 27;
    case DType::F64: return 28;
    case DType::BF16: return 30;
    default: throw Error(where, std::string("dtype ") + dtype_name(t) + " has no GGUF type");
  }
}

constexpr size_t kGgufMaxNameBytes = 64;  // ggml's GGML_MAX_NAME, terminator included

uint64_t pad_to(uint64_t n, uint64_t a) { return (n + a - 1) / a * a; }

}  // namespace

void GgufWriter::kv_set(const std::string& key, std::string encoded) {
  for (Kv& kv : kvs_) {
    if (kv.key == key) {
      kv.encoded = std::move(encoded);
      return;
    }
  }
  kvs_.push_back({key, std::move(encoded)});
}

void GgufWriter::set_u8(const std::string& k, uint8_t v) { kv_set(k, scalar(GgufType::U8, v)); }
void GgufWriter::set_i8(const std::string& k, int8_t v) { kv_set(k, scalar(GgufType::I8, static_cast<uint8_t>(v))); }
void GgufWriter::set_u16(const std::string& k, uint16_t v) { kv_set(k, scalar(GgufType::U16, v)); }
void GgufWriter::set_i16(const std::string& k, int16_t v) {
  kv_set(k, scalar(GgufType::I16, static_cast<uint16_t>(v)));
}
void GgufWriter::set_u32(const std::string& k, uint32_t v) {
  if (k == "general.alignment") {
    if (v == 0 || (v & (v - 1)) != 0 || v > (1u << 16))
      throw Error("GGUF metadata key general.alignment", "must be a power of two up to 65536");
    alignment_ = v;
  }
  kv_set(k, scalar(GgufType::U32, v));
}
void GgufWriter::set_i32(const std::string& k, int32_t v) {
  kv_set(k, scalar(GgufType::I32, static_cast<uint32_t>(v)));
}
void GgufWriter::set_u64(const std::string& k, uint64_t v) { kv_set(k, scalar(GgufType::U64, v)); }
void GgufWriter::set_i64(const std::string& k, int64_t v) {
  kv_set(k, scalar(GgufType::I64, static_cast<uint64_t>(v)));
}
void GgufWriter::set_bool(const std::string& k, bool v) { kv_set(k, scalar(GgufType::BOOL, uint8_t{v})); }

void GgufWriter::set_f32(const std::string& k, float v) {
  std::string s;
  put_type(s, GgufType::F32);
  put_f32(s, v);
  kv_set(k, std::move(s));
}

void GgufWriter::set_f64(const std::string& k, double v) {
  std::string s;
  put_type(s, GgufType::F64);
  put_f64(s, v);
  kv_set(k, std::move(s));
}

void GgufWriter::set_string(const std::string& k, const std::string& v) {
  std::string s;
  put_type(s, GgufType::STRING);
  put_string(s, v);
  kv_set(k, std::move(s));
}

void GgufWriter::set_string_array(const std::string& k, const std::vector<std::string>& v) {
  std::string s;
  put_type(s, GgufType::ARRAY);
  put_type(s, GgufType::STRING);
  put<uint64_t>(s, v.size());
  for (const std::string& x : v) put_string(s, x);
  kv_set(k, std::move(s));
}

void GgufWriter::set_f32_array(const std::string& k, const std::vector<float>& v) {
  std::string s;
  put_type(s, GgufType::ARRAY);
  put_type(s, GgufType::F32);
  put<uint64_t>(s, v.size());
  for (float x : v) put_f32(s, x);
  kv_set(k, std::move(s));
}

void GgufWriter::set_i32_array(const std::string& k, const std::vector<int32_t>& v) {
  std::string s;
  put_type(s, GgufType::ARRAY);
  put_type(s, GgufType::I32);
  put<uint64_t>(s, v.size());
  for (int32_t x : v) put(s, static_cast<uint32_t>(x));
  kv_set(k, std::move(s));
}

void GgufWriter::set_u32_array(const std::string& k, const std::vector<uint32_t>& v) {
  std::string s;
  put_type(s, GgufType::ARRAY);
  put_type(s, GgufType::U32);
  put<uint64_t>(s, v.size());
  for (uint32_t x : v) put(s, x);
  kv_set(k, std::move(s));
}

void GgufWriter::add_tensor(const std::string& name, DType dtype, const std::vector<int64_t>& shape,
                            const void* data) {
  const std::string where = "GGUF tensor " + name;
  for (const Tensor& t : tensors_)
    if (t.name == name) throw Error(where, "added twice");
  if (name.empty() || name.size() >= kGgufMaxNameBytes)
    throw Error(where, "name must be 1 to 63 bytes", "llama.cpp refuses longer tensor names (GGML_MAX_NAME)");
  if (shape.size() > 4) throw Error(where, "has " + std::to_string(shape.size()) + " dims; GGUF allows 4");
  Tensor t;
  t.name = name;
  t.ggml_type = dtype_to_ggml(where, dtype);
  uint64_t n = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] < 0) throw Error(where, "negative dimension " + std::to_string(shape[i]));
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(shape[i]), &n)) throw Error(where, "shape overflows");
    t.ne.push_back(static_cast<uint64_t>(shape[i]));
  }
  if (dtype == DType::Q8_0 && (shape.empty() || shape.back() % kQ8BlockSize != 0))
    throw Error(where, "Q8_0 needs an innermost dimension that is a multiple of 32");
  t.n_bytes = dtype_bytes(dtype, n);
  if (t.n_bytes > 0 && !data) throw Error(where, "no data");
  t.data = data;
  tensors_.push_back(std::move(t));
}

void GgufWriter::add_tensor_owned(const std::string& name, DType dtype, const std::vector<int64_t>& shape,
                                  std::vector<uint8_t> bytes) {
  add_tensor(name, dtype, shape, bytes.data());
  Tensor& t = tensors_.back();
  if (bytes.size() != t.n_bytes) {
    tensors_.pop_back();
    throw Error("GGUF tensor " + name, "has " + std::to_string(bytes.size()) + " bytes, its shape needs " +
                                           std::to_string(t.n_bytes));
  }
  t.owned = std::move(bytes);  // moving a vector keeps its buffer: t.data stays valid
  t.data = t.owned.data();
}

uint32_t GgufWriter::alignment() const { return alignment_; }

std::string GgufWriter::header_bytes() const {
  std::string s;
  put<uint32_t>(s, 0x46554747);  // "GGUF"
  put<uint32_t>(s, 3);
  put<uint64_t>(s, tensors_.size());
  put<uint64_t>(s, kvs_.size());
  for (const Kv& kv : kvs_) {
    put_string(s, kv.key);
    s += kv.encoded;
  }
  uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    put_string(s, t.name);
    put<uint32_t>(s, static_cast<uint32_t>(t.ne.size()));
    for (uint64_t d : t.ne) put(s, d);
    put<uint32_t>(s, t.ggml_type);
    put<uint64_t>(s, offset);
    offset += pad_to(t.n_bytes, alignment_);
  }
  s.append(pad_to(s.size(), alignment_) - s.size(), '\0');
  return s;
}

void GgufWriter::write(const std::string& path) const {
  const std::string header = header_bytes();
  const std::string zeros(alignment_, '\0');
  file_write_atomic_with(path, [&](std::FILE* f) {
    bool ok = std::fwrite(header.data(), 1, header.size(), f) == header.size();
    for (const Tensor& t : tensors_) {
      if (!ok) break;
      const size_t pad = pad_to(t.n_bytes, alignment_) - t.n_bytes;
      ok = (t.n_bytes == 0 || std::fwrite(t.data, 1, t.n_bytes, f) == t.n_bytes) &&
           (pad == 0 || std::fwrite(zeros.data(), 1, pad, f) == pad);
    }
    if (!ok) throw Error(ErrorKind::Internal, path, "write failed", "is the disk full?");
  });
}

std::string GgufWriter::serialize() const {
  std::string s = header_bytes();
  for (const Tensor& t : tensors_) {
    if (t.n_bytes > 0) s.append(static_cast<const char*>(t.data), t.n_bytes);
    s.append(pad_to(t.n_bytes, alignment_) - t.n_bytes, '\0');
  }
  return s;
}

}  // namespace loam
