// Softmax cross-entropy over one row of logits, forward and backward fused.
//
// z (V) holds the logits on entry. Returns the row's loss
// (logsumexp(z) − z[target]) and its argmax; when grad_scale != 0 it
// overwrites z with grad_scale · (softmax(z) − onehot(target)).
// The exponentials use a vectorized exp accurate to ~2 ulp.
#pragma once

#include <cstdint>

namespace loam {

struct CrossEntropyRow {
  double loss;
  int64_t argmax;
};

CrossEntropyRow cross_entropy_row(float* z, int64_t V, int32_t target, float grad_scale, bool write_grad);

// out[i] = exp(x[i]) for n floats (in place allowed).
void vec_exp(float* out, const float* x, int64_t n);

}  // namespace loam
