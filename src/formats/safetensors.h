// safetensors checkpoints: one file, a sharded model directory, and writing.
// Format as read here: docs/formats.md#safetensors.
//
// Reading maps the file and hands out TensorRef views into the map; no tensor
// byte is copied. Before any view is handed out, every header field is
// checked: header length within the file, valid JSON object, no duplicate
// names, known dtype, non-negative dims without overflow, byte size equal to
// product(shape) * dtype size, offsets inside the data section and not
// overlapping. Any violation throws loam::Error whose `where` names the file
// and, when one is involved, the tensor ("x.safetensors: tensor a.weight").
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapped_file.h"
#include "formats/tensor_ref.h"

namespace loam {

// One .safetensors file. Move-only (owns its map); TensorRefs survive moves.
class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::string& path);

  // Parses bytes someone else owns (fuzzing, in-memory files). REQUIRES:
  // data..data+size outlives the result. `name` is used in error messages.
  static SafetensorsFile parse(const std::string& name, const uint8_t* data, size_t size);

  const std::vector<TensorRef>& tensors() const { return tensors_; }  // header order
  const TensorRef* find(std::string_view name) const;                 // nullptr if absent
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  MappedFile map_;
  std::vector<TensorRef> tensors_;
  std::map<std::string, size_t, std::less<>> index_;  // name -> position in tensors_
  std::map<std::string, std::string> metadata_;
};

// A model's weights: a directory holding model.safetensors, or shards listed
// by model.safetensors.index.json, or exactly one *.safetensors file; or a
// single file opened by path. Move-only.
class SafetensorsCheckpoint {
 public:
  // Throws Error naming the directory when none of the layouts above is
  // found, naming the index file (and tensor) when it is malformed or names
  // a missing shard, and naming a shard and tensor when a tensor is listed
  // twice or the index points at a shard that lacks it. A path naming a
  // file rather than a directory is opened with open_file.
  static SafetensorsCheckpoint open_dir(const std::string& dir);
  static SafetensorsCheckpoint open_file(const std::string& path);

  const TensorRef* find(std::string_view name) const;  // nullptr if absent
  const TensorRef& get(std::string_view name) const;   // throws "<dir>: missing tensor <name>"
  std::vector<std::string> names() const;              // sorted
  std::vector<const TensorRef*> tensors() const;       // sorted by name
  const std::vector<SafetensorsFile>& files() const { return files_; }
  const std::string& path() const { return path_; }   // the directory or file opened

 private:
  void add_file(SafetensorsFile f);

  std::string path_;
  std::vector<SafetensorsFile> files_;
  std::map<std::string, const TensorRef*, std::less<>> by_name_;
};

struct TensorToWrite {
  std::string name;
  DType dtype;                 // any safetensors dtype (not Q8_0)
  std::vector<int64_t> shape;  // PyTorch/HF order
  const void* data;            // product(shape) elements, row-major
};

// Writes a .safetensors file atomically (temp file + fsync + rename): the
// JSON header (`__metadata__` first when non-empty, then tensors in the given
// order) padded with spaces to a multiple of 8 bytes as HF's writer does,
// then the tensors' bytes back to back in the given order. Throws Error
// naming the path and tensor for duplicate names, negative dims, Q8_0, or a
// null data pointer with a non-empty shape.
void safetensors_write(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// The bytes safetensors_write would write (for tests and in-memory use).
std::string safetensors_serialize(const std::string& name, const std::vector<TensorToWrite>& tensors,
                                  const std::map<std::string, std::string>& metadata = {});

}  // namespace loam
