// Merging a LoRA adapter into its base checkpoint: W' = W + scale · B A for
// every adapted linear layer, stored in the base weight's dtype; all other
// tensors (a multimodal wrapper's vision tower too) keep their names and
// bytes, and the config, tokenizer and processor files are copied unchanged.
// The result is a Hugging Face checkpoint of the base's kind any tool loads.
#pragma once

#include <string>

#include "model/lora.h"
#include "model/model.h"

namespace loam {

// REQUIRES: m was loaded from a Hugging Face directory (not GGUF).
// Writes out_dir/model.safetensors (atomically) and copies the side files.
void model_merge_lora(const Model& m, const LoraAdapter& a, const std::string& out_dir);

}  // namespace loam
