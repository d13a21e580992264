// GGUF files (llama.cpp's checkpoint format), v2 and v3, little-endian:
// reading (GgufFile) and the ggml type table. Writing: formats/gguf_writer.h.
// Format as read here: docs/formats.md#gguf.
//
// open() maps the file and validates all of it before returning: magic,
// version, every count against the bytes left (so an absurd count is refused
// before anything is allocated), every string and array length, value types,
// duplicate keys and tensor names, n_dims <= 4, dims without overflow, known
// ggml types, rows that are whole blocks, offsets aligned and, with their
// sizes, inside the data section and not overlapping. Errors are loam::Error
// naming the file and the key, tensor or byte offset involved.
//
// Shapes are exposed in PyTorch/HF order: GGUF's ne[] reversed, so a linear
// weight stored with ne = [in, out] reads as shape [out, in].
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapped_file.h"
#include "formats/tensor_ref.h"

namespace loam {

// Metadata value types, numbered as in the file.
enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};
const char* gguf_type_name(GgufType t);  // "u32", "string", "array", ...

// One metadata value. Scalars: ints in `i` (u64 above INT64_MAX keeps its
// bits in `u`), floats in `f`, bools in `i`, strings in `str`. Arrays: the
// element type in `elem`, `count` elements; numbers/bools are left in the
// file at `raw` (little-endian, packed), strings in `strs`, nested arrays in
// `items`. Strings are views into the file (valid while the GgufFile lives).
struct GgufValue {
  GgufType type = GgufType::U8;
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  std::string_view str;
  GgufType elem = GgufType::U8;
  uint64_t count = 0;
  const uint8_t* raw = nullptr;
  std::vector<std::string_view> strs;
  std::vector<GgufValue> items;
};

// ggml tensor types by id. Loam computes with F32, F16, BF16, Q8_0 (and
// reads I8..I64, F64 as plain numbers); the others are listed so `inspect`
// can show a file, but their data cannot be accessed.
struct GgmlTypeInfo {
  const char* name;  // "Q4_K"; nullptr for ids that are unused
  int block_size;    // values per block
  int block_bytes;   // bytes per block
};
const GgmlTypeInfo* ggml_type_info(uint32_t id);  // nullptr for unknown ids
std::string ggml_type_name(int id);               // "Q4_K", or "type 77"

constexpr uint32_t kGgufDefaultAlignment = 32;

class GgufFile {
 public:
  static GgufFile open(const std::string& path);
  // Parses bytes someone else owns (fuzzing, in-memory). REQUIRES:
  // data..data+size outlives the result. `name` is used in error messages.
  static GgufFile parse(const std::string& name, const uint8_t* data, size_t size);

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }

  // Metadata. Getters return nullopt when the key is absent and throw Error
  // naming file and key when it holds another type. get_int accepts any
  // integer width (u64 above INT64_MAX is an error); get_float accepts f32,
  // f64 and integers; array getters convert element-wise the same way.
  bool has(std::string_view key) const;
  const std::vector<std::string>& keys() const { return keys_; }  // file order
  const GgufValue* value(std::string_view key) const;              // nullptr if absent
  std::optional<int64_t> get_int(std::string_view key) const;
  std::optional<double> get_float(std::string_view key) const;
  std::optional<bool> get_bool(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;
  std::optional<std::vector<std::string>> get_string_array(std::string_view key) const;
  std::optional<std::vector<float>> get_float_array(std::string_view key) const;
  std::optional<std::vector<int64_t>> get_int_array(std::string_view key) const;
  // A short human-readable rendering (arrays abbreviated after max_items).
  std::string value_to_string(std::string_view key, size_t max_items = 8) const;

  // Every tensor in file order. Those of a type Loam cannot compute with
  // have supported == false and data == nullptr (name, shape, ggml_type,
  // n_bytes are still right): list them, do not read them.
  const std::vector<TensorRef>& tensors() const { return tensors_; }
  bool has_tensor(std::string_view name) const;
  // nullptr if absent; throws Error naming file, tensor and type (listing
  // the supported types) when present but of an unsupported type.
  const TensorRef* find(std::string_view name) const;
  const TensorRef& get(std::string_view name) const;  // also throws when absent
  std::string tensor_type_name(const TensorRef& t) const { return ggml_type_name(t.ggml_type); }
  uint64_t tensor_offset(const TensorRef& t) const;  // from the data section start

 private:
  friend class GgufParser;
  std::string path_;
  MappedFile map_;
  const uint8_t* data_section_ = nullptr;
  uint32_t version_ = 0;
  uint32_t alignment_ = kGgufDefaultAlignment;
  std::vector<std::string> keys_;
  std::vector<GgufValue> values_;
  std::map<std::string, size_t, std::less<>> key_index_;  // key -> position in keys_
  std::vector<TensorRef> tensors_;
  std::vector<uint64_t> offsets_;  // per tensor, from data_section_
  std::map<std::string, size_t, std::less<>> tensor_index_;  // name -> position in tensors_
};

}  // namespace loam
