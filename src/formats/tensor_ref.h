// TensorRef: a named, typed, shaped view of tensor bytes inside a mapped
// checkpoint file (safetensors or GGUF). Never owns or copies the bytes.
//
// Lifetime: valid while the file object that produced it (SafetensorsFile,
// SafetensorsCheckpoint, GgufFile) lives; moving that object keeps it valid.
// Every TensorRef handed out has been bounds-checked against its file: data
// .. data + n_bytes lies inside the file and n_bytes matches shape and dtype.
// Data is not necessarily aligned to the element size (safetensors offsets
// are arbitrary): read with memcpy or check alignment before casting.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace loam {

struct TensorRef {
  std::string name;
  DType dtype = DType::F32;    // meaningless when !supported (see ggml_type)
  std::vector<int64_t> shape;  // PyTorch/HF order: shape.back() is contiguous
  const uint8_t* data = nullptr;  // first byte; nullptr when !supported
  size_t n_bytes = 0;             // stored size in bytes (also when !supported)
  std::string file;               // the file it lives in, for error messages
  int ggml_type = -1;  // GGUF only: the stored ggml type id (gguf.h); -1 for safetensors
  bool supported = true;  // false: a GGUF type Loam cannot compute with (Q4_K, ...)

  int64_t n_elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;  // checked against overflow when parsed
    return n;
  }
};

}  // namespace loam
