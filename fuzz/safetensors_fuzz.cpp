// libFuzzer target: SafetensorsFile::parse on arbitrary bytes must either
// succeed with views that lie inside the input or throw loam::Error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "core/error.h"
#include "formats/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    loam::SafetensorsFile f = loam::SafetensorsFile::parse("fuzz.safetensors", data, size);
    for (const loam::TensorRef& t : f.tensors()) {
      if (t.n_bytes == 0) continue;
      if (t.data < data || t.data + t.n_bytes > data + size) std::abort();  // view escapes the input
      volatile uint8_t sink = t.data[0] ^ t.data[t.n_bytes - 1];           // ASan checks both ends
      (void)sink;
      if (f.find(t.name) != &t) std::abort();
    }
  } catch (const loam::Error&) {
  }
  return 0;
}
