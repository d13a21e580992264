// Merging a LoRA adapter into its base checkpoint: W' = W + scale · B A for
// every adapted linear layer, stored in the base weight's dtype; all other
// tensors and the config/tokenizer files are copied unchanged. The result is
// a plain Hugging Face checkpoint any tool loads.
#pragma once

#include <string>

#include "model/lora.h"
#include "model/model.h"

namespace loam {

// REQUIRES: m was loaded from a Hugging Face directory (not GGUF).
// Writes out_dir/model.safetensors (atomically) and copies the side files.
void model_merge_lora(const Model& m, const LoraAdapter& a, const std::string& out_dir);

}  // namespace loam
