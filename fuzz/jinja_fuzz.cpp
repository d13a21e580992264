// libFuzzer target: chat-template parsing and rendering. Input: the template
// source, a NUL, then the context as JSON (a default conversation when it is
// not JSON). Any input must render (within the step and size bounds of
// tokenizer/jinja/jinja_eval.h) or throw loam::Error — never a crash, a
// sanitizer finding, a stack overflow or a hang.
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "fuzz_input.h"
#include "tokenizer/chat_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [source, context] = loam::fuzz::split_at_nul(data, size);
  nlohmann::ordered_json ctx = nlohmann::ordered_json::parse(context, nullptr, /*allow_exceptions=*/false);
  if (ctx.is_discarded() || !ctx.is_object())
    ctx = {{"messages", {{{"role", "system"}, {"content", "Be brief."}},
                         {{"role", "user"}, {"content", "Hi"}},
                         {{"role", "assistant"}, {"content", "Hello"}}}},
           {"add_generation_prompt", true}, {"bos_token", "<s>"}, {"eos_token", "</s>"}};
  try {
    loam::ChatTemplate t = loam::ChatTemplate::parse(source, "fuzz");
    (void)t.render(ctx);
  } catch (const loam::Error&) {
  }
  return 0;
}
