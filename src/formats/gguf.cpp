// Parsing and validating a GGUF file (docs/formats.md#gguf). Every read goes
// through GgufParser::need(), which checks the bytes left before touching
// them; counts are checked against the smallest possible encoding of their
// items before anything is reserved.
#include "formats/gguf.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/escape.h"

namespace loam {

namespace {

constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" little-endian
constexpr uint32_t kMaxDims = 4;
constexpr int kMaxArrayDepth = 3;
constexpr uint32_t kMaxAlignment = 1u << 16;

size_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::U8: case GgufType::I8: case GgufType::BOOL: return 1;
    case GgufType::U16: case GgufType::I16: return 2;
    case GgufType::U32: case GgufType::I32: case GgufType::F32: return 4;
    case GgufType::U64: case GgufType::I64: case GgufType::F64: return 8;
    case GgufType::STRING: case GgufType::ARRAY: return 0;
  }
  return 0;
}

// Smallest encoding of one item of type t: used to bound counts.
size_t min_item_size(GgufType t) {
  if (t == GgufType::STRING) return 8;      // u64 length
  if (t == GgufType::ARRAY) return 4 + 8;  // u32 type + u64 count
  return scalar_size(t);
}

}  // namespace

class GgufParser {
 public:
  GgufParser(GgufFile& f, const uint8_t* data, size_t size) : f_(f), p_(data), size_(size) {}

  void run() {
    header_read();
    for (uint64_t i = 0; i < n_kv_; i++) kv_read();
    alignment_read();
    std::vector<uint64_t> offsets(n_tensors_);
    for (uint64_t i = 0; i < n_tensors_; i++) offsets[i] = tensor_info_read();
    tensors_place(offsets);
  }

 private:
  // Where the cursor is, for errors: "<file>: metadata key K (byte N)".
  std::string at() const {
    if (context_.empty()) return f_.path_ + ": byte " + std::to_string(pos_);
    return f_.path_ + ": " + context_ + " (byte " + std::to_string(pos_) + ")";
  }

  void need(uint64_t n, const char* what) const {
    if (n > size_ - pos_)
      throw Error(at(), std::string(what) + " needs " + std::to_string(n) + " bytes but the file has " +
                            std::to_string(size_ - pos_) + " left", "the file is truncated or corrupt");
  }
  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v = 0;
    for (size_t i = 0; i < sizeof(T); i++) v |= static_cast<T>(static_cast<T>(p_[pos_ + i]) << (8 * i));
    pos_ += sizeof(T);
    return v;
  }
  std::string_view string_read(const char* what) {
    uint64_t n = read<uint64_t>(what);
    need(n, what);
    std::string_view s(reinterpret_cast<const char*>(p_ + pos_), n);
    pos_ += n;
    return s;
  }
  // Rejects a count whose items cannot fit in the bytes left.
  void count_check(uint64_t count, size_t item_min, const std::string& what) const {
    if (item_min > 0 && count > (size_ - pos_) / item_min)
      throw Error(at(), what + " count " + std::to_string(count) + " cannot fit in the " +
                            std::to_string(size_ - pos_) + " bytes left", "the file is truncated or corrupt");
  }

  void header_read() {
    uint32_t magic = read<uint32_t>("magic");
    if (magic != kGgufMagic) throw Error(f_.path_, "not a GGUF file (bad magic)");
    f_.version_ = read<uint32_t>("version");
    if (f_.version_ == 1) throw Error(f_.path_, "GGUF version 1 is not supported", "re-convert with llama.cpp");
    if (f_.version_ != 2 && f_.version_ != 3) {
      bool swapped = (f_.version_ & 0xffff) == 0 && f_.version_ != 0;
      throw Error(f_.path_, "unsupported GGUF version " + std::to_string(f_.version_),
                  swapped ? "this looks like a big-endian GGUF; only little-endian is supported"
                          : "supported: versions 2 and 3");
    }
    n_tensors_ = read<uint64_t>("tensor count");
    n_kv_ = read<uint64_t>("metadata count");
    count_check(n_kv_, 8 + 4, "metadata");
    count_check(n_tensors_, 8 + 4 + 4 + 8, "tensor");
  }

  GgufValue value_read(GgufType t, int depth, const std::string& key) {
    GgufValue v;
    v.type = t;
    switch (t) {
      case GgufType::U8: v.i = read<uint8_t>("u8"); break;
      case GgufType::I8: v.i = static_cast<int8_t>(read<uint8_t>("i8")); break;
      case GgufType::U16: v.i = read<uint16_t>("u16"); break;
      case GgufType::I16: v.i = static_cast<int16_t>(read<uint16_t>("i16")); break;
      case GgufType::U32: v.i = read<uint32_t>("u32"); break;
      case GgufType::I32: v.i = static_cast<int32_t>(read<uint32_t>("i32")); break;
      case GgufType::U64: v.u = read<uint64_t>("u64"); v.i = static_cast<int64_t>(v.u); break;
      case GgufType::I64: v.i = static_cast<int64_t>(read<uint64_t>("i64")); break;
      case GgufType::BOOL: v.i = read<uint8_t>("bool") != 0; break;
      case GgufType::F32: {
        uint32_t b = read<uint32_t>("f32");
        float x;
        std::memcpy(&x, &b, 4);
        v.f = x;
        break;
      }
      case GgufType::F64: {
        uint64_t b = read<uint64_t>("f64");
        std::memcpy(&v.f, &b, 8);
        break;
      }
      case GgufType::STRING: v.str = string_read("string"); break;
      case GgufType::ARRAY: array_read(v, depth, key); break;
    }
    return v;
  }

  GgufType type_read(const std::string& key) {
    uint32_t t = read<uint32_t>("value type");
    if (t > static_cast<uint32_t>(GgufType::F64))
      throw Error(f_.path_ + ": metadata key " + error_escape(key), "unknown value type " + std::to_string(t));
    return static_cast<GgufType>(t);
  }

  void array_read(GgufValue& v, int depth, const std::string& key) {
    if (depth >= kMaxArrayDepth)
      throw Error(f_.path_ + ": metadata key " + error_escape(key), "arrays nested deeper than " +
                                                          std::to_string(kMaxArrayDepth) + " levels");
    v.elem = type_read(key);
    v.count = read<uint64_t>("array count");
    count_check(v.count, min_item_size(v.elem), "array (metadata key " + key + ")");
    if (v.elem == GgufType::STRING) {
      v.strs.reserve(v.count);
      for (uint64_t i = 0; i < v.count; i++) v.strs.push_back(string_read("string"));
    } else if (v.elem == GgufType::ARRAY) {
      v.items.reserve(v.count);
      for (uint64_t i = 0; i < v.count; i++) v.items.push_back(value_read(GgufType::ARRAY, depth + 1, key));
    } else {
      v.raw = p_ + pos_;
      pos_ += v.count * scalar_size(v.elem);  // fits: checked by count_check
    }
  }

  void kv_read() {
    context_ = "metadata key #" + std::to_string(f_.keys_.size());
    std::string key(string_read("metadata key"));
    context_ = "metadata key " + error_escape(key);  // names from the file may hold any bytes
    if (f_.key_index_.count(key)) throw Error(f_.path_ + ": " + context_, "appears twice");
    GgufType t = type_read(key);
    f_.values_.push_back(value_read(t, 0, key));
    f_.key_index_.emplace(key, f_.keys_.size());
    f_.keys_.push_back(std::move(key));
    context_.clear();
  }

  void alignment_read() {
    const GgufValue* a = f_.value("general.alignment");
    if (!a) return;
    if (a->type != GgufType::U32)
      throw Error(f_.path_ + ": metadata key general.alignment", "must be a u32, got " +
                                                                    std::string(gguf_type_name(a->type)));
    uint32_t v = static_cast<uint32_t>(a->i);
    if (v == 0 || (v & (v - 1)) != 0 || v > kMaxAlignment)
      throw Error(f_.path_ + ": metadata key general.alignment", "must be a power of two up to 65536, got " +
                                                                    std::to_string(v));
    f_.alignment_ = v;
  }

  // Reads one tensor info; fills shape, type and size, returns the offset.
  uint64_t tensor_info_read() {
    TensorRef t;
    t.file = f_.path_;
    context_ = "tensor #" + std::to_string(f_.tensors_.size());
    t.name = std::string(string_read("tensor name"));
    context_ = "tensor " + error_escape(t.name);
    const std::string where = f_.path_ + ": " + context_;
    if (f_.tensor_index_.count(t.name)) throw Error(where, "appears twice in the tensor table");
    uint32_t n_dims = read<uint32_t>("n_dims");
    if (n_dims > kMaxDims) throw Error(where, "has " + std::to_string(n_dims) + " dims; at most 4 allowed");
    std::vector<uint64_t> ne(n_dims);
    for (uint64_t& d : ne) d = read<uint64_t>("dimension");
    uint32_t type = read<uint32_t>("ggml type");
    uint64_t offset = read<uint64_t>("tensor offset");
    const GgmlTypeInfo* info = ggml_type_info(type);
    if (!info) throw Error(where, "unknown ggml type " + std::to_string(type));
    uint64_t n = 1;
    for (uint64_t d : ne) {
      if (d > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(n, d, &n) ||
          n > static_cast<uint64_t>(INT64_MAX))
        throw Error(where, "dimensions overflow 64 bits");
    }
    const uint64_t ne0 = n_dims ? ne[0] : 1;
    if (ne0 % info->block_size != 0)
      throw Error(where, "innermost dimension " + std::to_string(ne0) + " is not a multiple of the " +
                             info->name + " block size " + std::to_string(info->block_size));
    uint64_t bytes = 0;
    if (__builtin_mul_overflow(n / info->block_size, static_cast<uint64_t>(info->block_bytes), &bytes))
      throw Error(where, "byte size overflows 64 bits");
    for (uint32_t i = n_dims; i-- > 0;) t.shape.push_back(static_cast<int64_t>(ne[i]));  // HF order
    t.ggml_type = static_cast<int>(type);
    t.n_bytes = static_cast<size_t>(bytes);
    t.supported = type_to_dtype(type, t.dtype);
    f_.tensor_index_.emplace(t.name, f_.tensors_.size());
    f_.tensors_.push_back(std::move(t));
    context_.clear();
    return offset;
  }

  static bool type_to_dtype(uint32_t type, DType& out) {
    switch (type) {
      case 0: out = DType::F32; return true;
      case 1: out = DType::F16; return true;
      case 8: out = DType::Q8_0; return true;
      case 24: out = DType::I8; return true;
      case 25: out = DType::I16; return true;
      case 26: out = DType::I32; return true;
      case 27: out = DType::I64; return true;
      case 28: out = DType::F64; return true;
      case 30: out = DType::BF16; return true;
      default: out = DType::U8; return false;
    }
  }

  // The data section starts at the next multiple of the alignment; each
  // tensor's [offset, offset + size) must be aligned, inside it, and apart.
  void tensors_place(const std::vector<uint64_t>& offsets) {
    const uint64_t a = f_.alignment_;
    const uint64_t start = (pos_ + a - 1) / a * a;  // pos_ <= size_ < 2^63: no overflow
    const uint64_t section = start <= size_ ? size_ - start : 0;
    f_.data_section_ = start <= size_ ? p_ + start : nullptr;
    std::vector<size_t> order;
    for (size_t i = 0; i < f_.tensors_.size(); i++) {
      TensorRef& t = f_.tensors_[i];
      const std::string where = f_.path_ + ": tensor " + t.name;
      if (offsets[i] % a != 0)
        throw Error(where, "offset " + std::to_string(offsets[i]) + " is not a multiple of the alignment " +
                               std::to_string(a));
      if (offsets[i] > section || t.n_bytes > section - offsets[i])
        throw Error(where, "data [" + std::to_string(offsets[i]) + ", " + std::to_string(offsets[i]) + "+" +
                               std::to_string(t.n_bytes) + ") exceeds the file's data section (" +
                               std::to_string(section) + " bytes)", "the file is truncated or corrupt");
      if (t.supported && t.n_bytes > 0) t.data = f_.data_section_ + offsets[i];
      if (t.n_bytes > 0) order.push_back(i);
    }
    std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return offsets[x] < offsets[y]; });
    for (size_t k = 1; k < order.size(); k++) {
      const size_t prev = order[k - 1], cur = order[k];
      if (offsets[cur] < offsets[prev] + f_.tensors_[prev].n_bytes)
        throw Error(f_.path_ + ": tensor " + error_escape(f_.tensors_[cur].name),
                    "data overlaps tensor " + f_.tensors_[prev].name);
    }
    f_.offsets_ = offsets;
  }

  GgufFile& f_;
  const uint8_t* p_;
  size_t size_;
  size_t pos_ = 0;
  std::string context_;  // what is being read, for errors
  uint64_t n_kv_ = 0;
  uint64_t n_tensors_ = 0;
};

GgufFile GgufFile::open(const std::string& path) {
  MappedFile map = MappedFile::open(path);
  GgufFile f = parse(path, map.data(), map.size());
  f.map_ = std::move(map);  // the mapping's address does not change: views stay valid
  return f;
}

GgufFile GgufFile::parse(const std::string& name, const uint8_t* data, size_t size) {
  GgufFile f;
  f.path_ = name;
  GgufParser(f, data, size).run();
  return f;
}

bool GgufFile::has_tensor(std::string_view name) const { return tensor_index_.count(name) > 0; }

const TensorRef* GgufFile::find(std::string_view name) const {
  auto it = tensor_index_.find(name);
  if (it == tensor_index_.end()) return nullptr;
  const TensorRef& t = tensors_[it->second];
  if (!t.supported)
    throw Error(path_ + ": tensor " + error_escape(t.name), "has ggml type " + ggml_type_name(t.ggml_type) +
                                                  ", which Loam cannot compute with",
                "supported types: F32, F16, BF16, Q8_0; re-quantize the model to Q8_0 or convert "
                "it from the safetensors checkpoint");
  return &t;
}

const TensorRef& GgufFile::get(std::string_view name) const {
  const TensorRef* t = find(name);
  if (!t) throw Error(ErrorKind::NotFound, path_ + ": tensor " + std::string(name), "missing");
  return *t;
}

uint64_t GgufFile::tensor_offset(const TensorRef& t) const {
  auto it = tensor_index_.find(t.name);
  return it == tensor_index_.end() ? 0 : offsets_[it->second];
}

}  // namespace loam
