// The decoder-only transformer's inference forward pass (all families).
//
// Shape legend: T tokens in this call, P = cache.size() before the call,
// H hidden, Q = n_heads*head_dim, KV = n_kv_heads*head_dim, I intermediate,
// V vocab. Training's forward/backward with saved activations lives in
// model/transformer_train.cpp and follows the same steps.
#pragma once

#include <cstdint>

#include "model/kv_cache.h"
#include "model/lora.h"
#include "model/model.h"

namespace loam {

// Runs tokens (T) at positions P..P+T-1 through the model, appends their keys
// and values to `cache`, and writes the logits of the last n_logits tokens
// into logits (n_logits, V). lora may be null.
// REQUIRES: P + T <= cache.capacity(), 0 <= n_logits <= T, token ids < V.
void model_forward(const Model& m, const LoraAdapter* lora, KvCache& cache, const int32_t* tokens,
                   int64_t n_tokens, float* logits, int64_t n_logits);

}  // namespace loam
