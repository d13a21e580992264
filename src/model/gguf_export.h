// Converting a loaded model to a GGUF file llama.cpp loads (and Loam too):
// the "<arch>.*" hyperparameters, llama.cpp's tensor names, Q/K rows
// permuted for interleaved RoPE on Llama-family models, Gemma norms with the
// +1 folded in, matrices stored as F32, F16, BF16 or Q8_0 (norms and biases
// stay F32), and the tokenizer and chat template when the model has them.
// Only the language model is written (a Gemma 3 multimodal wrapper becomes a
// "gemma3" file, as llama.cpp's converter writes its text part; the vision
// tower is not converted). Gemma 2/3 files also carry "<arch>.attention.scale"
// (query_pre_attn_scalar^-1/2), which llama.cpp's converter leaves out.
#pragma once

#include <functional>
#include <string>

#include "core/dtype.h"
#include "model/model.h"
#include "tokenizer/model_text.h"

namespace loam {

// Called with (layers converted, n_layers) after each layer, for a progress
// display; may be empty.
using ExportProgress = std::function<void(int done, int total)>;

// text may be null (no tokenizer metadata is written then). The file is
// written to a temporary name and renamed into place.
void model_export_gguf(const Model& m, const ModelText* text, DType matrix_dtype, const std::string& path,
                       const ExportProgress& progress = {});

}  // namespace loam
