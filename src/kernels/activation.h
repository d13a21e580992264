// Gated MLP activations, forward and backward.
//
// Shapes: gate, up, out and their gradients are (n) flat.
// SwiGLU (Llama, Mistral, Qwen): out = silu(gate) * up.
// GeGLU (Gemma): out = gelu_tanh(gate) * up, gelu_tanh(x) =
//   0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))  (PyTorch approximate="tanh").
#pragma once

#include <cstdint>

namespace loam {

enum class Activation { Silu, GeluTanh };

void glu_forward(float* out, const float* gate, const float* up, int64_t n, Activation act);

// dgate = dout * up * act'(gate); dup = dout * act(gate). Overwrites dgate, dup.
void glu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                  int64_t n, Activation act);

// x = cap * tanh(x / cap), in place (Gemma 2 attention and final-logit soft-capping).
void softcap_forward(float* x, int64_t n, float cap);

}  // namespace loam
