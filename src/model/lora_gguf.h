// LoRA adapters as GGUF files that llama.cpp loads (--lora):
// general.type=adapter, adapter.type=lora, adapter.lora.alpha, and tensors
// blk.N.<name>.weight.lora_a (ne [in, r]) / .lora_b (ne [r, out]).
// For Llama-family models llama.cpp's GGUF has Q/K rows permuted for
// interleaved RoPE; lora_b of q_proj/k_proj gets the same permutation.
#pragma once

#include <string>

#include "model/config.h"
#include "model/lora.h"

namespace loam {

void adapter_gguf_write(const std::string& path, const LoraAdapter& a, const ModelConfig& c);

// The GGUF architecture name llama.cpp uses for a family ("llama" for Llama and Mistral).
std::string gguf_arch_name(const ModelConfig& c);

// Rows of a Q or K projection (n_heads heads of head_dim rows each), reordered
// from rotate_half pairing to llama.cpp's interleaved pairing.
std::vector<float> gguf_permute_rows(const std::vector<float>& w, int64_t n_heads, int64_t head_dim, int64_t cols);

}  // namespace loam
