// Loading a model from a single GGUF file (llama.cpp's format): config from
// "<arch>.*" metadata, tensors mapped from llama.cpp's names to Hugging
// Face's, generation defaults from tokenizer.ggml.* ids.
#pragma once

#include <string>

#include "model/model.h"

namespace loam {

Model model_load_gguf(const std::string& path);

// llama.cpp's tensor name for a Hugging Face tensor name of `arch`
// ("model.layers.3.mlp.up_proj.weight" -> "blk.3.ffn_up.weight"); empty when
// the name has no GGUF counterpart.
std::string gguf_tensor_name(const std::string& hf_name, const ModelConfig& c);

}  // namespace loam
