#include "model/gguf_export.h"

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "formats/gguf_writer.h"
#include "kernels/matmul.h"
#include "kernels/quantize.h"
#include "model/arch.h"

namespace loam {
namespace {

std::string arch_for_gguf(const ModelConfig& c) {
  return c.arch == "mistral" ? "llama" : arch_find_name(c.arch).gguf_archs.front();
}

// Matrix rows (optionally permuted for interleaved RoPE) as bytes of `dt`.
std::vector<uint8_t> matrix_bytes(const WeightView& w, DType dt, int64_t permute_heads, int64_t head_dim) {
  const int64_t rows = w.n_rows, cols = w.n_cols;
  std::vector<uint8_t> out(dtype_bytes(dt, static_cast<size_t>(rows * cols)));
  const size_t row_bytes = dtype_bytes(dt, static_cast<size_t>(cols));
  std::vector<float> row(cols);
  for (int64_t r = 0; r < rows; r++) {
    int64_t dst = r;
    if (permute_heads > 0) {  // rotate_half pairing -> interleaved, as llama.cpp's converter does
      const int64_t h = r / head_dim, j = r % head_dim, half = head_dim / 2;
      dst = h * head_dim + (j % half) * 2 + j / half;
    }
    uint8_t* o = out.data() + dst * row_bytes;
    if (w.dtype == dt && permute_heads == 0) {
      std::memcpy(o, static_cast<const uint8_t*>(w.data) + r * row_bytes, row_bytes);
      continue;
    }
    weight_row_to_f32(w, r, row.data());
    switch (dt) {
      case DType::F32: std::memcpy(o, row.data(), row_bytes); break;
      case DType::BF16: f32_to_bf16_row(row.data(), cols, reinterpret_cast<uint16_t*>(o)); break;
      case DType::F16:
        for (int64_t i = 0; i < cols; i++) {
          uint16_t h = f32_to_f16(row[i]);
          std::memcpy(o + 2 * i, &h, 2);
        }
        break;
      case DType::Q8_0: q8_0_quantize_row(row.data(), cols, o); break;
      default: throw Error("convert", std::string("unsupported output dtype ") + dtype_name(dt));
    }
  }
  return out;
}

std::vector<uint8_t> vector_bytes(const std::vector<float>& v, int64_t permute_heads = 0, int64_t head_dim = 0) {
  std::vector<float> p = v;
  if (permute_heads > 0)
    for (int64_t r = 0; r < static_cast<int64_t>(v.size()); r++) {
      const int64_t h = r / head_dim, j = r % head_dim, half = head_dim / 2;
      p[h * head_dim + (j % half) * 2 + j / half] = v[r];
    }
  std::vector<uint8_t> b(p.size() * 4);
  std::memcpy(b.data(), p.data(), b.size());
  return b;
}

void write_tokenizer(GgufWriter& w, const ModelText& t) {
  const TokenizerSpec& s = t.tokenizer.spec();
  const bool spm = s.kind == TokenizerKind::SentencePieceBpe;
  w.set_string("tokenizer.ggml.model", spm ? "llama" : "gpt2");
  if (!spm) {
    std::string pre = "default";
    std::vector<std::string> have;
    for (const PreTokenizerStep& p : s.pre_tokenizer)
      if (p.type == PreTokenizerType::Split && p.pattern.is_regex) have.push_back(p.pattern.text);
    for (const char* cand : {"llama-bpe", "qwen2", "smollm", "gpt2"}) {
      try {
        if (tokenizer_pre_regexes_for_gguf(cand) == have) pre = cand;
      } catch (const Error&) {
      }
    }
    w.set_string("tokenizer.ggml.pre", pre);
  }
  const int32_t n = t.tokenizer.vocab_size();
  std::vector<std::string> tokens(n);
  std::vector<int32_t> types(n, 1);
  std::vector<float> scores(n, 0.0f);
  for (int32_t i = 0; i < n; i++) {
    tokens[i] = t.tokenizer.token_text(i);
    if (spm && tokens[i].size() == 6 && tokens[i].rfind("<0x", 0) == 0 && tokens[i].back() == '>') types[i] = 6;
    if (i < static_cast<int32_t>(s.scores.size())) scores[i] = s.scores[i];
  }
  for (const AddedToken& a : s.added_tokens)
    if (a.id >= 0 && a.id < n) types[a.id] = a.special ? 3 : 4;
  if (s.unk_id && *s.unk_id < n) types[*s.unk_id] = 2;
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_i32_array("tokenizer.ggml.token_type", types);
  w.set_f32_array("tokenizer.ggml.scores", scores);
  std::vector<std::string> merges;
  merges.reserve(s.merges.size());
  for (const auto& [a, b] : s.merges) merges.push_back(a + " " + b);
  w.set_string_array("tokenizer.ggml.merges", merges);
  if (auto id = t.tokenizer.token_id(t.bos_token); id && !t.bos_token.empty()) w.set_u32("tokenizer.ggml.bos_token_id", *id);
  if (auto id = t.tokenizer.token_id(t.eos_token); id && !t.eos_token.empty()) w.set_u32("tokenizer.ggml.eos_token_id", *id);
  w.set_bool("tokenizer.ggml.add_bos_token", t.add_bos);
  if (t.chat_template) w.set_string("tokenizer.chat_template", t.chat_template->source());
}

}  // namespace

void model_export_gguf(const Model& m, const ModelText* text, DType dt, const std::string& path,
                       const ExportProgress& progress) {
  const ModelConfig& c = m.config;
  const ModelWeights& wt = m.weights;
  if (dt == DType::Q8_0 && (c.hidden % 32 != 0 || c.intermediate % 32 != 0 || c.q_dim() % 32 != 0))
    throw Error("--dtype", "Q8_0 needs every matrix width to be a multiple of 32");
  const std::string arch = arch_for_gguf(c);
  const std::string a = arch + ".";
  GgufWriter w;
  w.set_string("general.architecture", arch);
  w.set_string("general.name", m.path);
  w.set_u32(a + "context_length", static_cast<uint32_t>(c.max_position));
  w.set_u32(a + "embedding_length", static_cast<uint32_t>(c.hidden));
  w.set_u32(a + "block_count", static_cast<uint32_t>(c.n_layers));
  w.set_u32(a + "feed_forward_length", static_cast<uint32_t>(c.intermediate));
  w.set_u32(a + "attention.head_count", static_cast<uint32_t>(c.n_heads));
  w.set_u32(a + "attention.head_count_kv", static_cast<uint32_t>(c.n_kv_heads));
  w.set_u32(a + "attention.key_length", static_cast<uint32_t>(c.head_dim));
  w.set_u32(a + "attention.value_length", static_cast<uint32_t>(c.head_dim));
  w.set_f32(a + "attention.layer_norm_rms_epsilon", c.rms_eps);
  w.set_f32(a + "rope.freq_base", c.rope_theta);
  w.set_u32(a + "rope.dimension_count", static_cast<uint32_t>(c.head_dim));
  if (c.rope_scaling.type == RopeScalingType::Linear) {
    w.set_string(a + "rope.scaling.type", "linear");
    w.set_f32(a + "rope.scaling.factor", c.rope_scaling.factor);
  }
  // query_pre_attn_scalar, which llama.cpp's own converter leaves out (it
  // assumes head_dim except for the 27B models); Loam's Gemma readers take it.
  if (arch == "gemma2" || arch == "gemma3") w.set_f32(a + "attention.scale", c.attn_scale);
  if (c.attn_softcap > 0) w.set_f32(a + "attn_logit_softcapping", c.attn_softcap);
  if (c.final_softcap > 0) w.set_f32(a + "final_logit_softcapping", c.final_softcap);
  if (c.sliding_window > 0) w.set_u32(a + "attention.sliding_window", static_cast<uint32_t>(c.sliding_window));
  if (text) write_tokenizer(w, *text);

  const bool permute = arch == "llama";
  if (c.rope_scaling.type == RopeScalingType::Llama3) {  // llama.cpp stores llama3 scaling as per-dim divisors
    ModelConfig plain = c;
    plain.rope_scaling = RopeScaling{};
    std::vector<float> base = rope_inv_freq(plain, false), scaled = rope_inv_freq(c, false), f(base.size());
    for (size_t i = 0; i < f.size(); i++) f[i] = base[i] / scaled[i];
    w.add_tensor_owned("rope_freqs.weight", DType::F32, {static_cast<int64_t>(f.size())}, vector_bytes(f));
  }
  auto add_matrix = [&](const std::string& name, const WeightView& v, int64_t heads = 0) {
    w.add_tensor_owned(name, dt, {v.n_rows, v.n_cols}, matrix_bytes(v, dt, heads, c.head_dim));
  };
  auto add_vector = [&](const std::string& name, const std::vector<float>& v, int64_t heads = 0) {
    if (!v.empty()) w.add_tensor_owned(name, DType::F32, {static_cast<int64_t>(v.size())}, vector_bytes(v, heads, c.head_dim));
  };
  add_matrix("token_embd.weight", wt.embed);
  if (wt.lm_head.data != wt.embed.data) add_matrix("output.weight", wt.lm_head);
  add_vector("output_norm.weight", wt.final_norm);
  for (int l = 0; l < c.n_layers; l++) {
    const LayerWeights& L = wt.layers[l];
    const std::string b = "blk." + std::to_string(l) + ".";
    add_vector(b + "attn_norm.weight", L.attn_norm);
    add_matrix(b + "attn_q.weight", L.wq, permute ? c.n_heads : 0);
    add_matrix(b + "attn_k.weight", L.wk, permute ? c.n_kv_heads : 0);
    add_matrix(b + "attn_v.weight", L.wv);
    add_matrix(b + "attn_output.weight", L.wo);
    add_vector(b + "attn_q.bias", L.bq, permute ? c.n_heads : 0);
    add_vector(b + "attn_k.bias", L.bk, permute ? c.n_kv_heads : 0);
    add_vector(b + "attn_v.bias", L.bv);
    add_vector(b + "attn_output.bias", L.bo);
    add_vector(b + "attn_q_norm.weight", L.q_norm);
    add_vector(b + "attn_k_norm.weight", L.k_norm);
    if (c.sandwich_norms) {
      add_vector(b + "post_attention_norm.weight", L.attn_post_norm);
      add_vector(b + "post_ffw_norm.weight", L.ffn_post_norm);
    }
    add_vector(b + "ffn_norm.weight", L.ffn_norm);
    add_matrix(b + "ffn_gate.weight", L.w_gate);
    add_matrix(b + "ffn_up.weight", L.w_up);
    add_matrix(b + "ffn_down.weight", L.w_down);
    if (progress) progress(l + 1, c.n_layers);
  }
  w.write(path);
}

}  // namespace loam
