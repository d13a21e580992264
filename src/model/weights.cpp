#include "model/weights.h"

#include <cstring>
#include <string>

#include "core/dtype.h"
#include "core/error.h"
#include "formats/tensor_ref.h"

namespace loam {
namespace {

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); i++) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

const TensorRef& need(const TensorSource& src, const std::string& name) {
  const TensorRef* t = src.find(name);
  if (!t) throw Error(ErrorKind::DataError, src.describe(name), "missing tensor", "the checkpoint does not match its config.json");
  return *t;
}

void check_shape(const TensorSource& src, const std::string& name, const TensorRef& t,
                 const std::vector<int64_t>& want) {
  if (t.shape != want)
    throw Error(src.describe(name), "shape " + shape_str(t.shape) + ", expected " + shape_str(want) +
                                        " from the model config");
}

WeightView matrix(const TensorSource& src, const std::string& name, int64_t rows, int64_t cols) {
  const TensorRef& t = need(src, name);
  if (!t.supported)
    throw Error(src.describe(name), "stored in a GGUF tensor type Loam cannot compute with",
                "supported: F32, F16, BF16, Q8_0; re-quantize the file to one of these");
  check_shape(src, name, t, {rows, cols});
  switch (t.dtype) {
    case DType::F32: case DType::F16: case DType::BF16: break;
    case DType::Q8_0:
      if (cols % kQ8BlockSize != 0)
        throw Error(src.describe(name), "Q8_0 rows must be a multiple of 32 values");
      break;
    default:
      throw Error(src.describe(name), std::string("unsupported dtype ") + dtype_name(t.dtype),
                  "supported: F32, F16, BF16, Q8_0");
  }
  if (t.n_bytes != dtype_bytes(t.dtype, static_cast<size_t>(rows * cols)))
    throw Error(src.describe(name), "byte size does not match its shape and dtype");
  return WeightView{t.dtype, t.data, rows, cols};
}

std::vector<float> vector_f32(const TensorSource& src, const std::string& name, int64_t n, float add) {
  const TensorRef& t = need(src, name);
  check_shape(src, name, t, {n});
  std::vector<float> out(n);
  for (int64_t i = 0; i < n; i++) {
    float v;
    switch (t.dtype) {
      case DType::F32: std::memcpy(&v, t.data + 4 * i, 4); break;
      case DType::BF16: { uint16_t h; std::memcpy(&h, t.data + 2 * i, 2); v = bf16_to_f32(h); break; }
      case DType::F16: { uint16_t h; std::memcpy(&h, t.data + 2 * i, 2); v = f16_to_f32(h); break; }
      default:
        throw Error(src.describe(name), std::string("unsupported dtype ") + dtype_name(t.dtype) +
                                            " for a vector", "supported: F32, F16, BF16");
    }
    out[i] = v + add;
  }
  return out;
}

std::vector<float> optional_vector(const TensorSource& src, const std::string& name, int64_t n) {
  if (!src.find(name)) return {};
  return vector_f32(src, name, n, 0.0f);
}

}  // namespace

HfTensorLayout hf_tensor_layout_detect(const TensorSource& src) {
  for (const HfTensorLayout& names : hf_tensor_layouts())
    if (src.find(names.decoder + ".embed_tokens.weight") || src.find(names.decoder + ".norm.weight") ||
        src.find(names.layer(0) + "input_layernorm.weight"))
      return names;
  return hf_tensor_layouts().front();
}

ModelWeights model_weights_load(const ModelConfig& c, const TensorSource& src,
                                std::shared_ptr<const void> storage) {
  ModelWeights w;
  w.storage = std::move(storage);
  const int64_t H = c.hidden, I = c.intermediate, V = c.vocab, Q = c.q_dim(), KV = c.kv_dim();
  const float one = c.norm_plus_one && !src.norms_include_one() ? 1.0f : 0.0f;
  const HfTensorLayout& names = c.hf_layout;
  w.embed = matrix(src, names.decoder + ".embed_tokens.weight", V, H);
  if (c.tie_embeddings && !src.find(names.lm_head)) w.lm_head = w.embed;
  else w.lm_head = matrix(src, names.lm_head, V, H);
  w.final_norm = vector_f32(src, names.decoder + ".norm.weight", H, one);
  w.layers.resize(c.n_layers);
  for (int l = 0; l < c.n_layers; l++) {
    const std::string p = names.layer(l);
    LayerWeights& L = w.layers[l];
    L.wq = matrix(src, p + "self_attn.q_proj.weight", Q, H);
    L.wk = matrix(src, p + "self_attn.k_proj.weight", KV, H);
    L.wv = matrix(src, p + "self_attn.v_proj.weight", KV, H);
    L.wo = matrix(src, p + "self_attn.o_proj.weight", H, Q);
    L.w_gate = matrix(src, p + "mlp.gate_proj.weight", I, H);
    L.w_up = matrix(src, p + "mlp.up_proj.weight", I, H);
    L.w_down = matrix(src, p + "mlp.down_proj.weight", H, I);
    if (c.qkv_bias) {
      L.bq = vector_f32(src, p + "self_attn.q_proj.bias", Q, 0.0f);
      L.bk = vector_f32(src, p + "self_attn.k_proj.bias", KV, 0.0f);
      L.bv = vector_f32(src, p + "self_attn.v_proj.bias", KV, 0.0f);
      L.bo = optional_vector(src, p + "self_attn.o_proj.bias", H);
    }
    L.attn_norm = vector_f32(src, p + "input_layernorm.weight", H, one);
    if (c.sandwich_norms) {
      L.attn_post_norm = vector_f32(src, p + "post_attention_layernorm.weight", H, one);
      L.ffn_norm = vector_f32(src, p + "pre_feedforward_layernorm.weight", H, one);
      L.ffn_post_norm = vector_f32(src, p + "post_feedforward_layernorm.weight", H, one);
    } else {
      L.ffn_norm = vector_f32(src, p + "post_attention_layernorm.weight", H, one);
    }
    if (c.qk_norm) {
      L.q_norm = vector_f32(src, p + "self_attn.q_norm.weight", c.head_dim, one);
      L.k_norm = vector_f32(src, p + "self_attn.k_norm.weight", c.head_dim, one);
    }
  }
  return w;
}

}  // namespace loam
