// libFuzzer target: GgufFile::parse on arbitrary bytes must either succeed
// with tensor views inside the input and readable metadata, or throw
// loam::Error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "core/error.h"
#include "formats/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    loam::GgufFile g = loam::GgufFile::parse("fuzz.gguf", data, size);
    for (const std::string& k : g.keys()) {
      (void)g.value_to_string(k, 4);
      try {  // typed getters either convert or throw Error naming the key
        (void)g.get_int(k);
      } catch (const loam::Error&) {
      }
      try {
        (void)g.get_float_array(k);
      } catch (const loam::Error&) {
      }
      try {
        (void)g.get_string_array(k);
      } catch (const loam::Error&) {
      }
    }
    for (const loam::TensorRef& t : g.tensors()) {
      if (!t.supported || t.n_bytes == 0) continue;
      if (t.data < data || t.data + t.n_bytes > data + size) std::abort();
      volatile uint8_t sink = t.data[0] ^ t.data[t.n_bytes - 1];
      (void)sink;
      if (g.find(t.name) != &t) std::abort();
    }
  } catch (const loam::Error&) {
  }
  return 0;
}
