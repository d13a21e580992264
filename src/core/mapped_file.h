// A read-only memory map of a whole file.
//
// Model weights are read in place from the map (safetensors, GGUF), so a
// checkpoint costs page cache, not heap. Move-only; unmaps on destruction.
// open() throws loam::Error naming the path when the file cannot be opened
// or mapped. An empty file maps to size() == 0 and data() == nullptr.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace loam {

class MappedFile {
 public:
  static MappedFile open(const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace loam
