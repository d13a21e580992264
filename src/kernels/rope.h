// Rotary position embeddings, forward and backward.
//
// Shapes: x is (n_tokens, n_heads, head_dim) row-major; positions (n_tokens);
// inv_freq (head_dim/2), already adjusted for rope scaling by the model.
// Two pairings exist in the wild:
//  - Half (Hugging Face `rotate_half`, GPT-NeoX): pairs (i, i + head_dim/2).
//  - Interleaved (GPT-J, llama.cpp's view of Llama GGUF files, whose Q/K
//    rows were permuted at conversion): pairs (2i, 2i+1).
// Angles are computed in double from position * inv_freq and rounded to
// float, as the reference computes them in fp32 from fp32 inv_freq.
#pragma once

#include <cstdint>

namespace loam {

enum class RopePairing { Half, Interleaved };

// x rotated in place by +angle (forward) or -angle (backward: the transpose).
void rope_forward(float* x, const int32_t* positions, const float* inv_freq,
                  int64_t n_tokens, int64_t n_heads, int64_t head_dim, RopePairing pairing);
void rope_backward(float* dx, const int32_t* positions, const float* inv_freq,
                   int64_t n_tokens, int64_t n_heads, int64_t head_dim, RopePairing pairing);

}  // namespace loam
