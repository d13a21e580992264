// NumPy .npy files (format version 1.0): little-endian float32, C order.
// Used by `loam logits` so reference scripts can np.load() the result.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace loam {

// Writes data (product of shape floats) atomically. Throws Error naming path.
void npy_write_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape);

}  // namespace loam
