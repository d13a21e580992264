// Converting a loaded model to a GGUF file llama.cpp loads (and Loam too):
// the "<arch>.*" hyperparameters, llama.cpp's tensor names, Q/K rows
// permuted for interleaved RoPE on Llama-family models, Gemma norms with the
// +1 folded in, matrices stored as F32, F16, BF16 or Q8_0 (norms and biases
// stay F32), and the tokenizer and chat template when the model has them.
#pragma once

#include <string>

#include "core/dtype.h"
#include "model/model.h"
#include "model/model_text.h"

namespace loam {

// text may be null (no tokenizer metadata is written then).
void model_export_gguf(const Model& m, const ModelText* text, DType matrix_dtype, const std::string& path);

}  // namespace loam
