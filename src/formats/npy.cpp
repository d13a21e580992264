#include "formats/npy.h"

#include <cstdio>

#include "core/error.h"
#include "core/file_io.h"

namespace loam {

void npy_write_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  std::string dims;
  size_t n = 1;
  for (size_t i = 0; i < shape.size(); i++) {
    dims += (i ? ", " : "") + std::to_string(shape[i]);
    n *= static_cast<size_t>(shape[i]);
  }
  if (shape.size() == 1) dims += ",";
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Magic (6) + version (2) + header length (2) + dict + padding + '\n' is a multiple of 64.
  size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  std::string head = "\x93NUMPY";
  head += static_cast<char>(1);
  head += static_cast<char>(0);
  head += static_cast<char>(dict.size() & 0xff);
  head += static_cast<char>((dict.size() >> 8) & 0xff);
  head += dict;
  file_write_atomic_with(path, [&](std::FILE* f) {
    if (std::fwrite(head.data(), 1, head.size(), f) != head.size() ||
        (n && std::fwrite(data, sizeof(float), n, f) != n))
      throw Error(path, "write failed");
  });
}

}  // namespace loam
