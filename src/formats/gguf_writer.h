// GgufWriter: builds a GGUF v3 file (docs/formats.md#gguf) — metadata,
// then tensors — and writes it atomically (temp file + fsync + rename).
// Used to convert HF checkpoints to GGUF and to write llama.cpp LoRA
// adapters. Not thread-safe; one writer per file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "formats/gguf.h"

namespace loam {

class GgufWriter {
 public:
  // Metadata setters. Keys keep the order of their first set; setting a key
  // again replaces its value. "general.alignment" (u32, power of two) sets
  // the data alignment; default 32.
  void set_u8(const std::string& key, uint8_t v);
  void set_i8(const std::string& key, int8_t v);
  void set_u16(const std::string& key, uint16_t v);
  void set_i16(const std::string& key, int16_t v);
  void set_u32(const std::string& key, uint32_t v);
  void set_i32(const std::string& key, int32_t v);
  void set_u64(const std::string& key, uint64_t v);
  void set_i64(const std::string& key, int64_t v);
  void set_f32(const std::string& key, float v);
  void set_f64(const std::string& key, double v);
  void set_bool(const std::string& key, bool v);
  void set_string(const std::string& key, const std::string& v);
  void set_string_array(const std::string& key, const std::vector<std::string>& v);
  void set_f32_array(const std::string& key, const std::vector<float>& v);
  void set_i32_array(const std::string& key, const std::vector<int32_t>& v);
  void set_u32_array(const std::string& key, const std::vector<uint32_t>& v);

  // Adds a tensor: dtype F32, F16, BF16 or Q8_0 (also I8..I64, F64); shape in
  // PyTorch/HF order (written to the file reversed, as ne[]); `data` holds
  // the tensor's bytes as stored (Q8_0: blocks of 32 along the innermost
  // dimension, 34 bytes each). REQUIRES: data outlives write(). Throws Error
  // naming the tensor for a duplicate name, a name of 64+ bytes (llama.cpp's
  // limit), more than 4 dims, a negative
  // dim, or a Q8_0 innermost dimension not a multiple of 32.
  void add_tensor(const std::string& name, DType dtype, const std::vector<int64_t>& shape, const void* data);
  // Same, but the writer keeps the bytes (which must be the exact size).
  void add_tensor_owned(const std::string& name, DType dtype, const std::vector<int64_t>& shape,
                        std::vector<uint8_t> bytes);

  // Writes the file. Throws Error naming the path on I/O failure.
  void write(const std::string& path) const;
  // The bytes write() would write (tests, in-memory use).
  std::string serialize() const;

 private:
  struct Kv {
    std::string key;
    std::string encoded;  // value type u32 + value, as in the file
  };
  struct Tensor {
    std::string name;
    uint32_t ggml_type;
    std::vector<uint64_t> ne;  // GGUF order
    const void* data;
    size_t n_bytes;
    std::vector<uint8_t> owned;
  };
  void kv_set(const std::string& key, std::string encoded);
  std::string header_bytes() const;  // everything before the data section, padded
  uint32_t alignment() const;

  std::vector<Kv> kvs_;
  std::vector<Tensor> tensors_;
  uint32_t alignment_ = kGgufDefaultAlignment;
};

}  // namespace loam
