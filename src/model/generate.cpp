#include "model/generate.h"

namespace loam {

GenerateResult generate(const Model& m, const Tokenizer& tok, const GenerateRequest& req,
                        const std::function<void(std::string_view)>& on_text) {
  BatchDecoder dec(m, tok);
  const int64_t id = dec.add(req, on_text);
  while (!dec.finished(id)) dec.step();
  return dec.take(id);
}

}  // namespace loam
