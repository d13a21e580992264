// Writing .safetensors files the way HF's writer lays them out
// (docs/formats.md#safetensors): header padded with spaces to 8 bytes.
#include <cstdio>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "formats/safetensors.h"

namespace loam {
namespace {

// Validates the tensors and returns the padded header (without the 8-byte
// length prefix) and, in `sizes`, each tensor's byte count.
std::string header_build(const std::string& path, const std::vector<TensorToWrite>& tensors,
                         const std::map<std::string, std::string>& metadata, std::vector<size_t>& sizes) {
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    h["__metadata__"] = m;
  }
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const TensorToWrite& t : tensors) {
    const std::string where = path + ": tensor " + t.name;
    if (t.name.empty() || t.name == "__metadata__") throw Error(where, "invalid tensor name");
    if (!seen.insert(t.name).second) throw Error(where, "name given twice");
    if (t.dtype == DType::Q8_0) throw Error(where, "safetensors has no Q8_0 dtype", "write GGUF instead");
    uint64_t n = 1;
    for (int64_t d : t.shape) {
      if (d < 0) throw Error(where, "negative dimension " + std::to_string(d));
      if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) throw Error(where, "shape overflows");
    }
    const size_t bytes = dtype_bytes(t.dtype, n);
    if (bytes > 0 && !t.data) throw Error(where, "no data");
    nlohmann::ordered_json e;
    e["dtype"] = dtype_name(t.dtype);
    e["shape"] = t.shape;
    e["data_offsets"] = {offset, offset + bytes};
    h[t.name] = e;
    offset += bytes;
    sizes.push_back(bytes);
  }
  std::string s = h.dump();
  // HF pads with spaces so the data section starts 8-byte aligned.
  s.append((8 - s.size() % 8) % 8, ' ');
  return s;
}

std::string length_prefix(uint64_t n) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; i++) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out;
}

}  // namespace

void safetensors_write(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<size_t> sizes;
  const std::string header = header_build(path, tensors, metadata, sizes);
  file_write_atomic_with(path, [&](std::FILE* f) {
    const std::string prefix = length_prefix(header.size());
    bool ok = std::fwrite(prefix.data(), 1, 8, f) == 8 &&
              std::fwrite(header.data(), 1, header.size(), f) == header.size();
    for (size_t i = 0; ok && i < tensors.size(); i++)
      ok = sizes[i] == 0 || std::fwrite(tensors[i].data, 1, sizes[i], f) == sizes[i];
    if (!ok) throw Error(path, "write failed", "is the disk full?");
  });
}

std::string safetensors_serialize(const std::string& name, const std::vector<TensorToWrite>& tensors,
                                  const std::map<std::string, std::string>& metadata) {
  std::vector<size_t> sizes;
  const std::string header = header_build(name, tensors, metadata, sizes);
  std::string out = length_prefix(header.size()) + header;
  for (size_t i = 0; i < tensors.size(); i++)
    if (sizes[i] > 0) out.append(static_cast<const char*>(tensors[i].data), sizes[i]);
  return out;
}

}  // namespace loam
