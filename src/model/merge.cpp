#include "model/merge.h"

#include <filesystem>
#include <cstring>
#include <map>

#include "core/dtype.h"
#include "core/error.h"
#include "core/file_io.h"
#include "formats/safetensors.h"
#include "formats/tensor_ref.h"

namespace loam {

namespace fs = std::filesystem;

int model_merge_lora(const Model& m, const LoraAdapter& a, const std::string& out_dir,
                     const std::function<void(int done, int total)>& progress) {
  if (m.format != "safetensors")
    throw Error(m.path, "merging needs a Hugging Face checkpoint directory", "GGUF models can use the adapter's adapter.gguf with llama.cpp instead");
  const ModelConfig& c = m.config;
  SafetensorsCheckpoint ck = SafetensorsCheckpoint::open_dir(m.path);
  // Merged weights by HF tensor name, kept as bytes in the original dtype.
  std::map<std::string, std::vector<uint8_t>> merged;
  const float scale = a.config.scale();
  for (int l = 0; l < c.n_layers; l++) {
    for (int t = 0; t < kLoraTargets; t++) {
      const LoraMatrix& lm = a.layers[l][t];
      if (!lm.active()) continue;
      const auto tt = static_cast<LoraTarget>(t);
      const std::string name = c.hf_layout.layer(l) + (t < 4 ? "self_attn." : "mlp.") + lora_target_module(tt) + ".weight";
      const TensorRef& w = ck.get(name);
      const int64_t out = lm.out, in = lm.in, r = lm.rank;
      std::vector<uint8_t> bytes(w.n_bytes);
      for (int64_t o = 0; o < out; o++)
        for (int64_t i = 0; i < in; i++) {
          double delta = 0.0;
          for (int64_t k = 0; k < r; k++) delta += static_cast<double>(lm.b[o * r + k]) * lm.a[k * in + i];
          const size_t idx = static_cast<size_t>(o * in + i);
          if (w.dtype == DType::F32) {
            float v;
            std::memcpy(&v, w.data + 4 * idx, 4);
            v += static_cast<float>(scale * delta);
            std::memcpy(bytes.data() + 4 * idx, &v, 4);
          } else if (w.dtype == DType::BF16 || w.dtype == DType::F16) {
            uint16_t h;
            std::memcpy(&h, w.data + 2 * idx, 2);
            float v = (w.dtype == DType::BF16 ? bf16_to_f32(h) : f16_to_f32(h)) + static_cast<float>(scale * delta);
            h = w.dtype == DType::BF16 ? f32_to_bf16(v) : f32_to_f16(v);
            std::memcpy(bytes.data() + 2 * idx, &h, 2);
          } else {
            throw Error(w.file + ": tensor " + name, std::string("cannot merge into dtype ") + dtype_name(w.dtype));
          }
        }
      merged[name] = std::move(bytes);
    }
    if (progress) progress(l + 1, c.n_layers);
  }
  const std::vector<const char*> side_files = {
      "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
      "special_tokens_map.json", "added_tokens.json", "chat_template.jinja", "chat_template.json",
      "tokenizer.model", "preprocessor_config.json", "processor_config.json"};
  std::vector<NamedPath> outputs = {{"the output directory", out_dir}, {"the merged weights", out_dir + "/model.safetensors"}};
  for (const char* side : side_files) outputs.push_back({"the output file", out_dir + "/" + side});
  check_outputs_distinct(model_input_files(m.path), outputs);
  fs::create_directories(out_dir);
  std::vector<TensorToWrite> ts;
  for (const std::string& name : ck.names()) {
    const TensorRef& t = ck.get(name);
    auto it = merged.find(name);
    ts.push_back({name, t.dtype, t.shape, it != merged.end() ? it->second.data() : t.data});
  }
  FileStage stage;  // the weights and side files appear together, or the old ones stay
  safetensors_write(stage.temp_for(out_dir + "/model.safetensors"), ts, {{"format", "pt"}});
  for (const char* side : side_files) {
    fs::path src = fs::path(m.path) / side;
    if (fs::exists(src))
      fs::copy_file(src, stage.temp_for((fs::path(out_dir) / side).string()), fs::copy_options::overwrite_existing);
  }
  stage.commit();
  return static_cast<int>(merged.size());
}

}  // namespace loam
