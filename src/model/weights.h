// ModelWeights: the tensors of a loaded checkpoint, as views into the mapped
// files (matrices keep their stored dtype) plus small fp32 copies of norm
// weights and biases. Checked against ModelConfig at load: every tensor
// present with the expected shape and a supported dtype, or an Error naming
// the file and tensor.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kernels/matmul.h"
#include "model/config.h"

namespace loam {

// Per-layer weights. Norm vectors already include Gemma's "+1".
struct LayerWeights {
  WeightView wq, wk, wv, wo;        // (q_dim, H), (kv_dim, H), (kv_dim, H), (H, q_dim)
  WeightView w_gate, w_up, w_down;  // (I, H), (I, H), (H, I)
  std::vector<float> bq, bk, bv, bo;  // biases; empty when absent
  std::vector<float> attn_norm;       // (H) before attention
  std::vector<float> ffn_norm;        // (H) before the MLP
  std::vector<float> attn_post_norm;  // (H) on the attention output (sandwich_norms)
  std::vector<float> ffn_post_norm;   // (H) on the MLP output (sandwich_norms)
  std::vector<float> q_norm, k_norm;  // (head_dim) per-head norms (qk_norm)
};

struct ModelWeights {
  WeightView embed;    // (V, H)
  WeightView lm_head;  // (V, H); the same view as embed when tied
  std::vector<float> final_norm;  // (H)
  std::vector<LayerWeights> layers;
  std::shared_ptr<const void> storage;  // keeps the mapped files (and owned buffers) alive
};

// Where tensors come from: HF names are the canonical ones; a GGUF source
// maps them to llama.cpp's names. Implemented in weights.cpp / gguf_loader.cpp.
struct TensorRef;
class TensorSource {
 public:
  virtual ~TensorSource() = default;
  // nullptr when absent. `hf_name` like "model.layers.3.self_attn.q_proj.weight"
  // (or that name under a wrapper's layout, see HfTensorLayout).
  virtual const TensorRef* find(const std::string& hf_name) const = 0;
  virtual std::string describe(const std::string& hf_name) const = 0;  // "<file>: tensor <name>"
  virtual bool norms_include_one() const { return false; }  // GGUF Gemma: +1 already folded in
};

// Tensor names follow c.hf_layout (the default, plain layout for GGUF sources).
ModelWeights model_weights_load(const ModelConfig& c, const TensorSource& src,
                                std::shared_ptr<const void> storage);

// The first of hf_tensor_layouts() whose embedding, final norm or first
// layer's input norm `src` holds (other tensors, such as a wrapper's vision
// tower, are never read); the plain layout when none matches, so that a
// checkpoint without a language model fails on the plain names.
HfTensorLayout hf_tensor_layout_detect(const TensorSource& src);

}  // namespace loam
