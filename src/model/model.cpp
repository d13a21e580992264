#include "model/model.h"

#include <sys/mman.h>

#include <cstdint>
#include <filesystem>
#include <memory>

#include "core/error.h"
#include "core/file_io.h"
#include "core/json_file.h"
#include "formats/safetensors.h"
#include "formats/tensor_ref.h"
#include "model/gguf_loader.h"
#include "kernels/quantize.h"
#include "model/hf_config.h"

namespace loam {
namespace {

namespace fs = std::filesystem;

class SafetensorsSource : public TensorSource {
 public:
  SafetensorsSource(const SafetensorsCheckpoint& ck, std::string dir) : ck_(ck), dir_(std::move(dir)) {}
  const TensorRef* find(const std::string& name) const override { return ck_.find(name); }
  // A missing tensor is named with the file that should hold it when there
  // is only one (the directory when sharded).
  std::string describe(const std::string& name) const override {
    const TensorRef* t = ck_.find(name);
    const std::string file = t ? t->file : ck_.files().size() == 1 ? ck_.files()[0].path() : dir_;
    return file + ": tensor " + name;
  }

 private:
  const SafetensorsCheckpoint& ck_;
  std::string dir_;
};

GenerationDefaults read_generation_config(const std::string& dir, const ModelConfig& c) {
  GenerationDefaults g;
  for (int id : c.eos_ids) g.eos_ids.push_back(id);
  std::string path = dir + "/generation_config.json";
  if (!file_exists(path)) return g;
  nlohmann::json j = json_read_file(path);
  HfConfigReader r(j, path);
  if (r.has("eos_token_id")) {
    g.eos_ids.clear();
    const auto& v = j.at("eos_token_id");
    if (v.is_number_integer()) g.eos_ids.push_back(v.get<int>());
    else if (v.is_array())
      for (const auto& x : v) {
        if (!x.is_number_integer()) r.fail("eos_token_id", "expected integers");
        g.eos_ids.push_back(x.get<int>());
      }
    else r.fail("eos_token_id", "expected an integer or a list of integers");
    for (int id : g.eos_ids)
      if (id < 0 || id >= c.vocab)
        r.fail("eos_token_id", "id " + std::to_string(id) + " is outside the model's vocabulary [0, " +
                                   std::to_string(c.vocab) + ") (vocab_size in config.json)");
  }
  g.temperature = r.get_float("temperature", 1.0f);
  g.top_p = r.get_float("top_p", 1.0f);
  g.top_k = r.get_int("top_k", 0);
  g.do_sample = r.get_bool("do_sample", false);
  return g;
}

Model load_hf_dir(const std::string& dir) {
  const std::string cfg_path = dir + "/config.json";
  if (!file_exists(cfg_path))
    throw Error(ErrorKind::NotFound, dir, "not a model directory: config.json is missing",
                "pass a Hugging Face model directory or a .gguf file");
  Model m;
  m.path = dir;
  m.format = "safetensors";
  m.config = model_config_from_hf(json_read_file(cfg_path), cfg_path);
  auto ck = std::make_shared<SafetensorsCheckpoint>(SafetensorsCheckpoint::open_dir(dir));
  SafetensorsSource src(*ck, dir);
  m.config.hf_layout = hf_tensor_layout_detect(src);
  m.weights = model_weights_load(m.config, src, ck);
  m.generation = read_generation_config(dir, m.config);
  return m;
}

}  // namespace

Model model_load(const std::string& path) {
  if (dir_exists(path)) return load_hf_dir(path);
  if (fs::path(path).extension() == ".gguf") return model_load_gguf(path);
  if (!file_exists(path)) throw Error(ErrorKind::NotFound, path, "no such file or directory");
  throw Error(path, "unrecognized model path", "pass a Hugging Face model directory or a .gguf file");
}

std::vector<NamedPath> model_input_files(const std::string& path) {
  std::vector<NamedPath> files;
  if (!dir_exists(path)) {
    files.push_back({"the model file", path});
    return files;
  }
  files.push_back({"the model directory", path});
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(path, ec)) {
    const std::string ext = e.path().extension().string();
    if (e.is_regular_file(ec) && (ext == ".json" || ext == ".safetensors" || ext == ".jinja" || ext == ".model"))
      files.push_back({"the model's file", e.path().string()});
  }
  return files;
}

void model_matrices_to_bf16(Model& m) {
  struct Owned {
    std::shared_ptr<const void> base;  // the mapped files
    std::vector<std::vector<uint16_t>> buffers;
  };
  auto owned = std::make_shared<Owned>();
  owned->base = m.weights.storage;
  std::vector<float> row;
  auto convert = [&](WeightView& w) {
    if (w.dtype != DType::F32 && w.dtype != DType::F16) return;
    owned->buffers.emplace_back(static_cast<size_t>(w.n_rows * w.n_cols));
    uint16_t* out = owned->buffers.back().data();
    row.resize(static_cast<size_t>(w.n_cols));
    for (int64_t r = 0; r < w.n_rows; r++) {
      weight_row_to_f32(w, r, row.data());
      f32_to_bf16_row(row.data(), w.n_cols, out + r * w.n_cols);
    }
    // The mapped original is not read again: let the kernel drop its pages
    // (file-backed and unmodified, so this only lowers resident memory).
    const uintptr_t page = 4096, begin = reinterpret_cast<uintptr_t>(w.data);
    const uintptr_t end = begin + dtype_bytes(w.dtype, static_cast<size_t>(w.n_rows * w.n_cols));
    const uintptr_t a = (begin + page - 1) / page * page, z = end / page * page;
    if (z > a) madvise(reinterpret_cast<void*>(a), z - a, MADV_DONTNEED);
    w = WeightView{DType::BF16, out, w.n_rows, w.n_cols};
  };
  const bool tied = m.weights.lm_head.data == m.weights.embed.data;
  convert(m.weights.embed);
  if (tied) m.weights.lm_head = m.weights.embed;
  else convert(m.weights.lm_head);
  for (LayerWeights& L : m.weights.layers)
    for (WeightView* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) convert(*w);
  m.weights.storage = owned;
}

int64_t model_param_count(const Model& m) {
  const ModelConfig& c = m.config;
  const int64_t H = c.hidden, I = c.intermediate;
  int64_t per_layer = H * c.q_dim() + 2 * H * c.kv_dim() + c.q_dim() * H + 3 * H * I;
  per_layer += (c.sandwich_norms ? 4 : 2) * H + (c.qk_norm ? 2 * c.head_dim : 0);
  if (c.qkv_bias) per_layer += c.q_dim() + 2 * c.kv_dim();
  int64_t n = per_layer * c.n_layers + static_cast<int64_t>(c.vocab) * H + H;
  if (m.weights.lm_head.data != m.weights.embed.data) n += static_cast<int64_t>(c.vocab) * H;
  return n;
}

int64_t model_weight_bytes(const Model& m) {
  auto bytes = [](const WeightView& w) {
    return static_cast<int64_t>(dtype_bytes(w.dtype, static_cast<size_t>(w.n_rows * w.n_cols)));
  };
  int64_t n = bytes(m.weights.embed);
  if (m.weights.lm_head.data != m.weights.embed.data) n += bytes(m.weights.lm_head);
  for (const auto& L : m.weights.layers)
    n += bytes(L.wq) + bytes(L.wk) + bytes(L.wv) + bytes(L.wo) + bytes(L.w_gate) + bytes(L.w_up) +
         bytes(L.w_down);
  return n;
}

int64_t model_param_count(const ModelConfig& c) {
  const int64_t H = c.hidden, I = c.intermediate;
  int64_t per_layer = H * c.q_dim() + 2 * H * c.kv_dim() + c.q_dim() * H + 3 * H * I;
  per_layer += (c.sandwich_norms ? 4 : 2) * H + (c.qk_norm ? 2 * c.head_dim : 0);
  if (c.qkv_bias) per_layer += c.q_dim() + 2 * c.kv_dim();
  const int64_t embed = static_cast<int64_t>(c.vocab) * H;
  return per_layer * c.n_layers + embed * (c.tie_embeddings ? 1 : 2) + H;
}

int64_t model_weight_bytes(const ModelConfig& c, DType dtype) {
  const int64_t H = c.hidden, I = c.intermediate;
  const int64_t per_layer = 2 * H * c.q_dim() + 2 * H * c.kv_dim() + 3 * H * I;
  const int64_t elements = per_layer * c.n_layers + static_cast<int64_t>(c.vocab) * H * (c.tie_embeddings ? 1 : 2);
  return static_cast<int64_t>(dtype_bytes(dtype, static_cast<size_t>(elements)));
}

}  // namespace loam
