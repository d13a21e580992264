// libFuzzer target: tokenizer.json loading, then encoding and decoding.
// Input: the tokenizer.json text, a NUL, then the text to encode. Any input
// must give ids (which decode) or a loam::Error, never a crash, a sanitizer
// finding, another exception type or unbounded memory.
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "fuzz_input.h"
#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [spec_text, text] = loam::fuzz::split_at_nul(data, size);
  nlohmann::json j = nlohmann::json::parse(spec_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  try {
    loam::Tokenizer tok(loam::tokenizer_spec_from_json(j, "fuzz/tokenizer.json"));
    for (bool special : {false, true}) {
      std::vector<int32_t> ids = tok.encode(text, special);
      for (int32_t id : ids)
        if (id < 0 || id >= tok.vocab_size()) __builtin_trap();  // encode gave an id the vocabulary lacks
      (void)tok.decode(ids, /*skip_special_tokens=*/special);
    }
  } catch (const loam::Error&) {
  }
  return 0;
}
