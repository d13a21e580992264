// LoRA adapters with PEFT semantics, in one place:
//   y = x Wᵀ (+ b) + scale · (x Aᵀ) Bᵀ,  A (r, in), B (out, r),
//   scale = alpha / r  (rsLoRA: alpha / sqrt(r)).
// Weights are fp32 (they are what training updates). Tensor names follow
// PEFT: "base_model.model." + the module's path in the base checkpoint, e.g.
// base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight, or for a
// Gemma 3 multimodal wrapper
// base_model.model.language_model.model.layers.N.self_attn.q_proj.lora_A.weight.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/config.h"

namespace loam {

enum class LoraTarget { Q, K, V, O, Gate, Up, Down };
constexpr int kLoraTargets = 7;
const char* lora_target_module(LoraTarget t);  // "q_proj", ..., "down_proj"

struct LoraConfig {
  int rank = 8;             // r
  float alpha = 16.0f;      // lora_alpha
  float dropout = 0.0f;     // lora_dropout (training only)
  bool use_rslora = false;  // scale alpha/sqrt(r) instead of alpha/r
  std::array<bool, kLoraTargets> targets{true, true, true, true, true, true, true};
  // base_model_name_or_path: informational. Adapters Loam trains store the
  // absolute path of the base model (directory or .gguf), which stays valid
  // from any working directory; PEFT adapters from elsewhere hold a hub id.
  std::string base_model;
  float scale() const;
};

struct LoraMatrix {        // one adapted linear layer
  int64_t in = 0, out = 0;
  int64_t rank = 0;        // r; set with a and b, never recomputed from their sizes
  std::vector<float> a;    // (r, in)
  std::vector<float> b;    // (out, r)
  std::vector<float> bt;   // Bᵀ (r, out) for decoding, by lora_prepare_decode; else empty
  // bf16 copies of a and bt (RNE) that decode-sized forwards read instead,
  // by lora_prepare_decode(.., bf16 = true), in the adapter's decode_block;
  // else null.
  const uint16_t* a_bf16 = nullptr;
  const uint16_t* bt_bf16 = nullptr;
  bool active() const { return !a.empty(); }
};

struct LoraAdapter {
  LoraConfig config;
  std::vector<std::array<LoraMatrix, kLoraTargets>> layers;  // [layer][target]
  HfTensorLayout names;  // module paths its PEFT tensor names use (the base checkpoint's)
  // Every matrix's a_bf16 and bt_bf16, one after the other (each from a
  // cache line); shared by copies of the adapter.
  std::shared_ptr<const std::vector<uint16_t>> decode_block;
};

// Fills every matrix's bt (Bᵀ), which decode-sized forwards then read in
// place instead of transposing B at each step. For adapters that only serve
// (a trained adapter's b changes; training never fills bt). With bf16, also
// a_bf16 and bt_bf16, which decode then reads instead: for a model computing
// in MatmulPrecision::Bf16, whose weights are bf16 already. A decode step is
// bound by the bytes it streams, and a step over several adapters streams
// each one's factors (rank 8 on every linear layer of a 135M model: 10 MB
// in fp32 per adapter, as much as 5% of the weights).
void lora_prepare_decode(LoraAdapter& a, bool bf16 = false);

// The (in, out) sizes of a target's linear layer for this model.
std::pair<int64_t, int64_t> lora_target_dims(const ModelConfig& c, LoraTarget t);

// A new adapter: A ~ kaiming-uniform (PEFT default), B = 0, from `seed`;
// named after the model's checkpoint (c.hf_layout).
LoraAdapter lora_init(const ModelConfig& c, const LoraConfig& lc, uint64_t seed);

// PEFT directory (adapter_config.json + adapter_model.safetensors). Checks
// names, shapes and rank against the model; throws Error naming the file.
// Accepts the names of any of hf_tensor_layouts() (an adapter trained by
// PEFT under another transformers version than the one that saved the
// checkpoint names the wrapper's layers the other way), the model's own first.
LoraAdapter lora_load(const std::string& dir, const ModelConfig& c);
// Writes a.names' PEFT names (atomic per file).
void lora_save(const std::string& dir, const LoraAdapter& a);

// The PEFT tensor name of layer l, target t, matrix 'A' or 'B', for a
// checkpoint whose tensors are named as `names`.
std::string lora_tensor_name(const HfTensorLayout& names, int layer, LoraTarget t, char which);
// The same for a plain causal LM (base_model.model.model.layers.N....).
std::string lora_tensor_name(int layer, LoraTarget t, char which);

}  // namespace loam
