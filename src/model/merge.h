// Merging a LoRA adapter into its base checkpoint: W' = W + scale · B A for
// every adapted linear layer, stored in the base weight's dtype; all other
// tensors (a multimodal wrapper's vision tower too) keep their names and
// bytes, and the config, tokenizer and processor files are copied unchanged.
// The result is a Hugging Face checkpoint of the base's kind any tool loads.
#pragma once

#include <functional>
#include <string>

#include "model/lora.h"
#include "model/model.h"

namespace loam {

// REQUIRES: m was loaded from a Hugging Face directory (not GGUF).
// Writes out_dir/model.safetensors and copies the side files, all under
// temporary names renamed into place together at the end. Throws Error before
// writing anything when out_dir is the model's directory or an output would
// be one of the model's files (symlinks and hard links included).
// `progress`, when set, is called with (layers merged, n_layers) after each layer.
// Returns the number of weight matrices changed.
int model_merge_lora(const Model& m, const LoraAdapter& a, const std::string& out_dir,
                     const std::function<void(int done, int total)>& progress = {});

}  // namespace loam
