// ModelConfig: everything the transformer needs to know about a checkpoint's
// shape and numerics, parsed in one place per source (HF config.json or GGUF
// metadata) by the architecture's file under model/arch/.
//
// One struct for all supported decoder-only families; each field says which
// families set it. Defaults describe plain Llama.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/activation.h"
#include "kernels/rope.h"

namespace loam {

enum class RopeScalingType { None, Linear, Llama3 };

struct RopeScaling {
  RopeScalingType type = RopeScalingType::None;
  float factor = 1.0f;              // linear: positions / factor; llama3: long-wavelength divisor
  float low_freq_factor = 1.0f;     // llama3
  float high_freq_factor = 4.0f;    // llama3
  int original_max_position = 8192; // llama3: original_max_position_embeddings
};

// Where a Hugging Face checkpoint keeps the language model's tensors. Causal
// LMs use the plain names; multimodal wrappers (Gemma3ForConditionalGeneration)
// nest the text model under a path that depends on the transformers version
// that saved them. model_load picks the layout from the tensor names present.
struct HfTensorLayout {
  std::string decoder = "model";           // "<decoder>.embed_tokens.weight", "<decoder>.layers.N.…", "<decoder>.norm.weight"
  std::string lm_head = "lm_head.weight";  // the untied output matrix

  std::string layer(int l) const { return decoder + ".layers." + std::to_string(l) + "."; }
  bool operator==(const HfTensorLayout&) const = default;
};

// The layouts model_load recognizes, plain first:
//   model.*                  causal LMs (Gemma3ForCausalLM, LlamaForCausalLM, ...)
//   language_model.model.*   wrappers saved by transformers < 4.52 (lm_head: language_model.lm_head.weight)
//   model.language_model.*   wrappers saved by transformers >= 4.52 (lm_head: lm_head.weight)
const std::vector<HfTensorLayout>& hf_tensor_layouts();

struct ModelConfig {
  std::string arch;          // registered family name: "llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3"
  std::string hf_architecture;  // e.g. "LlamaForCausalLM" (for writing merged checkpoints)
  HfTensorLayout hf_layout;     // tensor names in the checkpoint (and PEFT names of its adapters); set by model_load
  int n_layers = 0;
  int hidden = 0;            // hidden_size
  int n_heads = 0;           // num_attention_heads
  int n_kv_heads = 0;        // num_key_value_heads (GQA); = n_heads when absent
  int head_dim = 0;          // hidden / n_heads unless given (Qwen3, Gemma)
  int intermediate = 0;      // MLP width
  int vocab = 0;
  int max_position = 2048;   // context length (max_position_embeddings)
  float rms_eps = 1e-6f;
  float rope_theta = 10000.0f;
  float rope_local_theta = 0.0f;  // Gemma 3: base for sliding (local) layers; 0 = same as global
  RopeScaling rope_scaling;       // applies to global layers (all layers except Gemma 3 local ones)
  std::vector<float> rope_freq_factors;  // GGUF "rope_freqs.weight": inv_freq divided by these (llama3 scaling as llama.cpp stores it)
  RopePairing rope_pairing = RopePairing::Half;  // Interleaved for Llama-family GGUF files
  bool tie_embeddings = false;    // LM head = embedding matrix
  bool qkv_bias = false;          // Qwen2: q/k/v projections have biases
  bool qk_norm = false;           // Qwen3, Gemma 3: RMSNorm over each head of q and k before RoPE
  bool norm_plus_one = false;     // Gemma: RMSNorm scales by (1 + w)
  bool embed_scale = false;       // Gemma: embeddings times sqrt(hidden) (rounded to the compute dtype)
  bool sandwich_norms = false;    // Gemma 2/3: norms after attention and MLP outputs, and before MLP
  Activation activation = Activation::Silu;  // Gemma: GeluTanh
  float attn_scale = 0.0f;        // softmax scale; 1/sqrt(head_dim) unless query_pre_attn_scalar
  float attn_softcap = 0.0f;      // Gemma 2: attn_logit_softcapping (0 = off)
  float final_softcap = 0.0f;     // Gemma 2: final_logit_softcapping (0 = off)
  int sliding_window = 0;         // tokens a sliding layer sees, itself included (0 = none)
  std::vector<bool> layer_sliding;  // per layer: uses the sliding window (and Gemma 3's local rope)
  int bos_id = -1;
  std::vector<int> eos_ids;

  int64_t q_dim() const { return static_cast<int64_t>(n_heads) * head_dim; }
  int64_t kv_dim() const { return static_cast<int64_t>(n_kv_heads) * head_dim; }
};

// inv_freq (head_dim/2) for a layer, with rope scaling applied as the
// reference does (HF _compute_default/linear/llama3 rope parameters).
std::vector<float> rope_inv_freq(const ModelConfig& c, bool sliding_layer);

// Checks invariants shared by all families (positive sizes, heads divide,
// even head_dim, ...); throws Error naming `origin` and the field.
void model_config_check(const ModelConfig& c, const std::string& origin);

}  // namespace loam
