// The decoder-only transformer (all families): ONE layer step, forward and
// backward side by side (llm.c style), used by prefill, decode, batched
// multi-sequence decode, evaluation and training.
//
// A ForwardBatch is a list of rows. Each row carries its token, its position
// in its own sequence (RoPE), the row of a KV store its key/value go to, the
// first KV row of its sequence (it attends keys [kv_begin, kv_row], less a
// sliding window), and an adapter slot (kNoAdapter = the bare base). The KV
// store is either a KvCache (inference: each sequence owns a contiguous
// range of rows) or the batch's own keys (training: packed sequences,
// kv_row[i] == i), so the same attention call serves both.
//
// Shape legend: N rows in the batch, H hidden, Q = n_heads*head_dim,
// KV = n_kv_heads*head_dim, I intermediate, V vocab, r LoRA rank.
// The base model is frozen: gradients flow to activations and LoRA A/B only.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "model/kv_cache.h"
#include "model/linear.h"
#include "model/lora.h"
#include "model/model.h"

namespace loam {

constexpr int32_t kNoAdapter = -1;

struct ForwardBatch {
  std::vector<int32_t> tokens;     // (N) input ids
  std::vector<int32_t> positions;  // (N) position within the row's own sequence
  std::vector<int32_t> kv_row;     // (N) KV-store row receiving this row's key/value
  std::vector<int32_t> kv_begin;   // (N) first KV-store row of the row's sequence
  std::vector<int32_t> slot;       // (N) index into the call's adapter list, or kNoAdapter
  int64_t size() const { return static_cast<int64_t>(tokens.size()); }
  void clear();
  // Appends n rows of one sequence: ids at positions pos0.., keys/values at
  // KV rows kv_base + pos0.., the sequence starting at KV row kv_base.
  void add_sequence(const int32_t* ids, int64_t n, int32_t pos0, int32_t kv_base, int32_t slot);
};

// Adapters of a call, indexed by ForwardBatch::slot; null entries act as none.
using AdapterList = std::vector<const LoraAdapter*>;
// Gradient accumulators parallel to an AdapterList (null: that slot is frozen).
using GradList = std::vector<LoraAdapter*>;

struct ForwardOptions {
  bool save = false;                    // keep what model_backward_hidden needs (own keys only)
  bool gradient_checkpointing = false;  // with save: keep only each layer's input; recompute in backward
  float dropout = 0.0f;                 // LoRA dropout (training; 0 = off)
  uint64_t dropout_seed = 0;            // mask stream; derive from (run seed, step)
};

// Activations of one layer saved by the forward for the backward.
struct LayerActs {
  std::vector<float> x_in;                          // (N, H) residual stream entering the layer
  std::vector<float> xn1, rstd1;                    // (N, H), (N) attention-norm output and its 1/rms
  std::vector<float> q_pre, k_pre, rstd_q, rstd_k;  // (N, Q), (N, KV), (N*heads), (N*kv_heads) before qk_norm
  std::vector<float> q, k, v;                       // (N, Q), (N, KV), (N, KV) after qk_norm and RoPE
  std::vector<float> att, lse;                      // (N, Q), (N*heads)
  std::vector<float> o_pre, rstd_o, o_post;         // (N, H), (N), (N, H) attention output around its post-norm
  std::vector<float> x_mid;                         // (N, H) residual after attention
  std::vector<float> xn2, rstd2;                    // (N, H), (N) MLP-norm output
  std::vector<float> gate, up, act;                 // (N, I) pre-activation gate/up and GLU output
  std::vector<float> mlp_pre, rstd_m, mlp_post;     // (N, H), (N), (N, H) MLP output around its post-norm
  std::array<LoraActs, kLoraTargets> lin;
};

// Buffers a call keeps for the next one (saved activations, gradients, the
// loss head's chunk). Allocating them afresh each training step cost a fifth
// of the step in page faults and zero-filling. Holds no results between
// calls except what a forward leaves for its own backward: any workspace
// may be passed to any forward. One thread at a time.
struct ForwardWorkspace {
  std::vector<LayerActs> acts;             // one per layer (save), or one reused by every layer
  std::vector<std::vector<float>> inputs;  // layer inputs kept under checkpointing
  std::vector<float> x;                    // (N, H) residual stream
  std::vector<float> xf, rstd_f;           // (N, H), (N) final-norm output
  std::vector<float> dxf, dx, scratch_out; // (N, H) gradients at xf, at the residual stream
  std::vector<float> head_in, head_logits, head_dx;  // one chunk of the head
  std::vector<SlotRun> runs;               // the batch's adapter runs
  std::vector<int32_t> kend, kbeg_sliding; // (N) key ranges
  std::array<std::vector<LoraSegment>, kLoraTargets> segs;  // per target, for the current layer
  bool head_grad_ready = false;            // dxf holds the head's gradient (fused forward)
};

// Embedding, every layer and the final norm for the batch: ws.xf (N, H).
// kv: the store keys/values are written to and read from; null = the batch's
// own keys (REQUIRES kv_row[i] == i). With opt.save, REQUIRES kv == null.
// REQUIRES: slots index adapters; token ids < V; kv rows < kv->capacity().
void model_forward_hidden(const Model& m, const AdapterList& adapters, const ForwardBatch& b, KvCache* kv,
                          const ForwardOptions& opt, ForwardWorkspace& ws);

// The backward of model_forward_hidden (same m, adapters, b, opt, ws) from
// ws.dxf, the gradient at xf: accumulates into grads[slot] for every slot
// with a non-null gradient.
void model_backward_hidden(const Model& m, const AdapterList& adapters, const GradList& grads,
                           const ForwardBatch& b, const ForwardOptions& opt, ForwardWorkspace& ws);

// logits (n_rows, V) of rows[] of the last forward's ws.xf (LM head, softcap).
void model_logits(const Model& m, ForwardWorkspace& ws, const int64_t* rows, int64_t n_rows, float* logits);

// Embedding lookup: x (n, H) of ids (Gemma: times sqrt(H) rounded to fp32).
void embed_forward(const Model& m, const int32_t* ids, int64_t n, float* x);

// One sequence in a KvCache: runs tokens (T) at positions P..P+T-1 with
// P = cache.size(), appends their keys and values, and writes the logits of
// the last n_logits tokens into logits (n_logits, V). lora may be null.
// REQUIRES: P + T <= cache.capacity(), 0 <= n_logits <= T, token ids < V.
void model_forward(const Model& m, const LoraAdapter* lora, KvCache& cache, const int32_t* tokens,
                   int64_t n_tokens, float* logits, int64_t n_logits);

}  // namespace loam
