#include "model/lora_gguf.h"

#include <cmath>
#include <cstring>

#include "formats/gguf_writer.h"
#include "model/arch.h"

namespace loam {

std::string gguf_arch_name(const ModelConfig& c) {
  if (c.arch == "mistral") return "llama";
  return arch_find_name(c.arch).gguf_archs.front();
}

std::vector<float> gguf_permute_rows(const std::vector<float>& w, int64_t n_heads, int64_t head_dim, int64_t cols) {
  std::vector<float> out(w.size());
  const int64_t half = head_dim / 2;
  for (int64_t h = 0; h < n_heads; h++)
    for (int64_t part = 0; part < 2; part++)
      for (int64_t i = 0; i < half; i++) {
        const int64_t src = h * head_dim + part * half + i, dst = h * head_dim + 2 * i + part;
        std::copy(w.begin() + src * cols, w.begin() + (src + 1) * cols, out.begin() + dst * cols);
      }
  return out;
}

void adapter_gguf_write(const std::string& path, const LoraAdapter& a, const ModelConfig& c) {
  static const char* kNames[kLoraTargets] = {"attn_q", "attn_k", "attn_v", "attn_output",
                                             "ffn_gate", "ffn_up", "ffn_down"};
  const std::string arch = gguf_arch_name(c);
  const bool permute_qk = arch == "llama";
  GgufWriter w;
  w.set_string("general.architecture", arch);
  w.set_string("general.type", "adapter");
  w.set_string("general.name", "loam-lora");
  w.set_string("adapter.type", "lora");
  w.set_f32("adapter.lora.alpha", a.config.use_rslora
                                      ? a.config.alpha * std::sqrt(static_cast<float>(a.config.rank))
                                      : a.config.alpha);
  for (size_t l = 0; l < a.layers.size(); l++)
    for (int t = 0; t < kLoraTargets; t++) {
      const LoraMatrix& m = a.layers[l][t];
      if (!m.active()) continue;
      const std::string base = "blk." + std::to_string(l) + "." + kNames[t] + ".weight";
      const int64_t r = a.config.rank;
      w.add_tensor(base + ".lora_a", DType::F32, {r, m.in}, m.a.data());
      std::vector<float> b = m.b;
      if (permute_qk && (t == 0 || t == 1))
        b = gguf_permute_rows(m.b, t == 0 ? c.n_heads : c.n_kv_heads, c.head_dim, r);
      std::vector<uint8_t> bytes(b.size() * 4);
      std::memcpy(bytes.data(), b.data(), bytes.size());
      w.add_tensor_owned(base + ".lora_b", DType::F32, {m.out, r}, std::move(bytes));
    }
  w.write(path);
}

}  // namespace loam
