#include "model/gguf_loader.h"

#include <memory>

#include "core/error.h"
#include "formats/gguf.h"
#include "formats/tensor_ref.h"
#include "model/gguf_config.h"

namespace loam {
namespace {

struct NamePair {
  const char* hf;
  const char* gguf;
};

// Per-layer tensors: Hugging Face suffix after "model.layers.N." -> llama.cpp suffix after "blk.N.".
constexpr NamePair kLayerNames[] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"self_attn.o_proj.bias", "attn_output.bias"},
    {"self_attn.q_norm.weight", "attn_q_norm.weight"},
    {"self_attn.k_norm.weight", "attn_k_norm.weight"},
    {"pre_feedforward_layernorm.weight", "ffn_norm.weight"},
    {"post_feedforward_layernorm.weight", "post_ffw_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
};

class GgufSource : public TensorSource {
 public:
  GgufSource(const GgufFile& g, const ModelConfig& c, std::string path)
      : g_(g), c_(c), path_(std::move(path)) {}
  const TensorRef* find(const std::string& hf_name) const override {
    std::string n = gguf_tensor_name(hf_name, c_);
    return n.empty() ? nullptr : g_.find(n);
  }
  std::string describe(const std::string& hf_name) const override {
    std::string n = gguf_tensor_name(hf_name, c_);
    return path_ + ": tensor " + (n.empty() ? hf_name : n);
  }
  // llama.cpp's converter adds 1 to Gemma's norm weights.
  bool norms_include_one() const override { return true; }

 private:
  const GgufFile& g_;
  const ModelConfig& c_;
  std::string path_;
};

}  // namespace

std::string gguf_tensor_name(const std::string& hf, const ModelConfig& c) {
  if (hf == "model.embed_tokens.weight") return "token_embd.weight";
  if (hf == "model.norm.weight") return "output_norm.weight";
  if (hf == "lm_head.weight") return "output.weight";
  const std::string prefix = "model.layers.";
  if (hf.rfind(prefix, 0) != 0) return "";
  size_t dot = hf.find('.', prefix.size());
  if (dot == std::string::npos) return "";
  std::string layer = hf.substr(prefix.size(), dot - prefix.size());
  std::string rest = hf.substr(dot + 1);
  std::string blk = "blk." + layer + ".";
  if (rest == "post_attention_layernorm.weight")
    return blk + (c.sandwich_norms ? "post_attention_norm.weight" : "ffn_norm.weight");
  for (const NamePair& p : kLayerNames)
    if (rest == p.hf) return blk + p.gguf;
  return "";
}

Model model_load_gguf(const std::string& path) {
  auto g = std::make_shared<GgufFile>(GgufFile::open(path));
  Model m;
  m.path = path;
  m.format = "gguf";
  m.config = model_config_from_gguf(*g);
  GgufSource src(*g, m.config, path);
  m.weights = model_weights_load(m.config, src, g);
  for (int id : m.config.eos_ids) m.generation.eos_ids.push_back(id);
  return m;
}

}  // namespace loam
