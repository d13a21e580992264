// Text generation of one prompt: a BatchDecoder (decoder.h) holding one
// sequence, stepped until it finishes. Requests, results, finish reasons and
// the streaming contract are the decoder's.
#pragma once

#include <functional>
#include <string_view>

#include "model/decoder.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace loam {

// on_text (may be empty) receives each newly final piece of text.
GenerateResult generate(const Model& m, const Tokenizer& tok, const GenerateRequest& req,
                        const std::function<void(std::string_view)>& on_text);

}  // namespace loam
