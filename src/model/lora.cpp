#include "model/lora.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "core/json_file.h"
#include "formats/safetensors.h"
#include "formats/tensor_ref.h"
#include "kernels/quantize.h"

namespace loam {

namespace {
constexpr const char* kModules[kLoraTargets] = {"q_proj", "k_proj", "v_proj", "o_proj",
                                                "gate_proj", "up_proj", "down_proj"};
bool is_attention(LoraTarget t) { return static_cast<int>(t) < 4; }
}  // namespace

const char* lora_target_module(LoraTarget t) { return kModules[static_cast<int>(t)]; }

float LoraConfig::scale() const {
  return use_rslora ? alpha / std::sqrt(static_cast<float>(rank)) : alpha / static_cast<float>(rank);
}

void lora_prepare_decode(LoraAdapter& a, bool bf16) {
  size_t elems = 0;  // of the bf16 block, each factor a whole number of cache lines from its start
  auto line = [](size_t n) { return (n + 31) / 32 * 32; };
  for (auto& layer : a.layers)
    for (LoraMatrix& m : layer) {
      m.a_bf16 = m.bt_bf16 = nullptr;
      if (!m.active()) continue;
      m.bt.resize(m.b.size());
      for (int64_t o = 0; o < m.out; o++)
        for (int64_t j = 0; j < m.rank; j++) m.bt[j * m.out + o] = m.b[o * m.rank + j];
      elems += line(m.a.size()) + line(m.bt.size());
    }
  a.decode_block.reset();
  if (!bf16 || elems == 0) return;
  auto block = std::make_shared<std::vector<uint16_t>>(elems);
  a.decode_block = block;
  uint16_t* at = block->data();
  for (auto& layer : a.layers)
    for (LoraMatrix& m : layer) {
      if (!m.active()) continue;
      f32_to_bf16_row(m.a.data(), static_cast<int64_t>(m.a.size()), at);
      m.a_bf16 = at;
      at += line(m.a.size());
      f32_to_bf16_row(m.bt.data(), static_cast<int64_t>(m.bt.size()), at);
      m.bt_bf16 = at;
      at += line(m.bt.size());
    }
}

std::pair<int64_t, int64_t> lora_target_dims(const ModelConfig& c, LoraTarget t) {
  switch (t) {
    case LoraTarget::Q: return {c.hidden, c.q_dim()};
    case LoraTarget::K: case LoraTarget::V: return {c.hidden, c.kv_dim()};
    case LoraTarget::O: return {c.q_dim(), c.hidden};
    case LoraTarget::Gate: case LoraTarget::Up: return {c.hidden, c.intermediate};
    case LoraTarget::Down: return {c.intermediate, c.hidden};
  }
  return {0, 0};
}

std::string lora_tensor_name(const HfTensorLayout& names, int layer, LoraTarget t, char which) {
  return "base_model.model." + names.layer(layer) + (is_attention(t) ? "self_attn." : "mlp.") +
         kModules[static_cast<int>(t)] + ".lora_" + std::string(1, which) + ".weight";
}

std::string lora_tensor_name(int layer, LoraTarget t, char which) {
  return lora_tensor_name(HfTensorLayout{}, layer, t, which);
}

LoraAdapter lora_init(const ModelConfig& c, const LoraConfig& lc, uint64_t seed) {
  LoraAdapter a;
  a.config = lc;
  a.names = c.hf_layout;
  a.layers.resize(c.n_layers);
  std::mt19937_64 rng(seed);
  for (int l = 0; l < c.n_layers; l++)
    for (int t = 0; t < kLoraTargets; t++) {
      if (!lc.targets[t]) continue;
      auto [in, out] = lora_target_dims(c, static_cast<LoraTarget>(t));
      LoraMatrix& m = a.layers[l][t];
      m.in = in;
      m.out = out;
      m.rank = lc.rank;
      m.a.resize(static_cast<size_t>(lc.rank) * in);
      m.b.assign(static_cast<size_t>(out) * lc.rank, 0.0f);
      // PEFT: kaiming_uniform_(A, a=sqrt(5)) -> U(-1/sqrt(in), 1/sqrt(in)).
      std::uniform_real_distribution<float> u(-1.0f / std::sqrt(static_cast<float>(in)),
                                              1.0f / std::sqrt(static_cast<float>(in)));
      for (float& x : m.a) x = u(rng);
    }
  return a;
}

namespace {

LoraConfig read_adapter_config(const std::string& path) {
  const nlohmann::json j = json_read_file(path);
  auto field = [&](const char* k) -> const nlohmann::json* {
    return j.contains(k) && !j[k].is_null() ? &j[k] : nullptr;
  };
  auto fail = [&](const std::string& k, const std::string& m) -> void { throw Error(path + ": field " + k, m); };
  LoraConfig lc;
  if (auto* v = field("peft_type"); v && *v != "LORA") fail("peft_type", "only LORA adapters are supported");
  if (auto* v = field("r"); !v || !v->is_number_integer() || v->get<int>() <= 0) fail("r", "expected a positive integer");
  lc.rank = j["r"].get<int>();
  if (auto* v = field("lora_alpha")) {
    if (!v->is_number()) fail("lora_alpha", "expected a number");
    lc.alpha = v->get<float>();
  } else {
    lc.alpha = static_cast<float>(lc.rank);
  }
  if (auto* v = field("lora_dropout"); v && v->is_number()) lc.dropout = v->get<float>();
  if (auto* v = field("use_rslora"); v && v->is_boolean()) lc.use_rslora = v->get<bool>();
  if (auto* v = field("use_dora"); v && v->is_boolean() && v->get<bool>()) fail("use_dora", "DoRA adapters are not supported");
  if (auto* v = field("fan_in_fan_out"); v && v->is_boolean() && v->get<bool>()) fail("fan_in_fan_out", "must be false for these models");
  if (auto* v = field("rank_pattern"); v && v->is_object() && !v->empty()) fail("rank_pattern", "per-module ranks are not supported");
  if (auto* v = field("alpha_pattern"); v && v->is_object() && !v->empty()) fail("alpha_pattern", "per-module alphas are not supported");
  if (auto* v = field("base_model_name_or_path"); v && v->is_string()) lc.base_model = v->get<std::string>();
  lc.targets.fill(false);
  const nlohmann::json* tm = field("target_modules");
  if (!tm) fail("target_modules", "missing");
  if (tm->is_string() && *tm == "all-linear") {
    lc.targets.fill(true);
  } else if (tm->is_array()) {
    for (const auto& m : *tm) {
      bool found = false;
      for (int t = 0; t < kLoraTargets; t++)
        if (m.is_string() && m == kModules[t]) lc.targets[t] = found = true;
      if (!found) fail("target_modules", "unsupported module " + m.dump() + " (supported: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)");
    }
  } else {
    fail("target_modules", "expected a list of module names or \"all-linear\"");
  }
  return lc;
}

std::vector<float> read_f32(const TensorRef& t, const std::string& where, int64_t rows, int64_t cols) {
  if (t.shape != std::vector<int64_t>{rows, cols})
    throw Error(where, "shape does not match the model (expected [" + std::to_string(rows) + ", " +
                           std::to_string(cols) + "])");
  std::vector<float> v(static_cast<size_t>(rows * cols));
  for (size_t i = 0; i < v.size(); i++) {
    if (t.dtype == DType::F32) std::memcpy(&v[i], t.data + 4 * i, 4);
    else if (t.dtype == DType::BF16) { uint16_t h; std::memcpy(&h, t.data + 2 * i, 2); v[i] = bf16_to_f32(h); }
    else if (t.dtype == DType::F16) { uint16_t h; std::memcpy(&h, t.data + 2 * i, 2); v[i] = f16_to_f32(h); }
    else throw Error(where, std::string("unsupported dtype ") + dtype_name(t.dtype), "supported: F32, F16, BF16");
  }
  return v;
}

// The layout the adapter's names follow: the model's own when any of its
// layers' names is there, else the first known layout that matches.
HfTensorLayout adapter_names(const SafetensorsFile& f, const ModelConfig& c) {
  auto uses = [&](const HfTensorLayout& names) {
    const std::string prefix = "base_model.model." + names.decoder + ".layers.";
    for (const TensorRef& t : f.tensors())
      if (t.name.rfind(prefix, 0) == 0) return true;
    return false;
  };
  if (uses(c.hf_layout)) return c.hf_layout;
  for (const HfTensorLayout& names : hf_tensor_layouts())
    if (uses(names)) return names;
  return c.hf_layout;
}

// Throws for the first tensor of `f` not in `used`.
void check_all_used(const SafetensorsFile& f, const std::set<std::string>& used, const std::string& wpath) {
  for (const TensorRef& t : f.tensors()) {
    if (used.count(t.name)) continue;
    const std::string where = wpath + ": tensor " + t.name;
    if (t.name.find(".lora_") == std::string::npos)
      throw Error(where, "not a LoRA tensor this loader understands");
    if (t.name.find("vision_tower.") != std::string::npos || t.name.find("multi_modal_projector.") != std::string::npos)
      throw Error(where, "adapts the vision tower, which Loam does not run",
                  "train the adapter on the language model's layers only (PEFT target_modules as a regex "
                  "matching language_model)");
    throw Error(where, "adapts a layer or module the model does not have",
                "was this adapter trained on a different base model?");
  }
}

}  // namespace

LoraAdapter lora_load(const std::string& dir, const ModelConfig& c) {
  LoraAdapter a;
  a.config = read_adapter_config(dir + "/adapter_config.json");
  const std::string wpath = dir + "/adapter_model.safetensors";
  SafetensorsFile f = SafetensorsFile::open(wpath);
  a.names = adapter_names(f, c);
  a.layers.resize(c.n_layers);
  std::set<std::string> used;
  for (int l = 0; l < c.n_layers; l++)
    for (int t = 0; t < kLoraTargets; t++) {
      if (!a.config.targets[t]) continue;
      auto tt = static_cast<LoraTarget>(t);
      auto [in, out] = lora_target_dims(c, tt);
      const std::string na = lora_tensor_name(a.names, l, tt, 'A'), nb = lora_tensor_name(a.names, l, tt, 'B');
      const TensorRef* ta = f.find(na);
      const TensorRef* tb = f.find(nb);
      if (!ta && !tb) continue;  // layers_to_transform may skip layers
      if (!ta || !tb) throw Error(ErrorKind::DataError, wpath + ": tensor " + (ta ? nb : na), "missing (lora_A and lora_B come in pairs)");
      LoraMatrix& m = a.layers[l][t];
      m.in = in;
      m.out = out;
      m.rank = a.config.rank;
      m.a = read_f32(*ta, wpath + ": tensor " + na, a.config.rank, in);
      m.b = read_f32(*tb, wpath + ": tensor " + nb, out, a.config.rank);
      used.insert({na, nb});
    }
  if (used.empty()) throw Error(wpath, "no LoRA tensors for this model's layers");
  check_all_used(f, used, wpath);
  return a;
}

void lora_save(const std::string& dir, const LoraAdapter& a) {
  std::filesystem::create_directories(dir);
  std::vector<TensorToWrite> ts;
  nlohmann::json targets = nlohmann::json::array();
  for (int t = 0; t < kLoraTargets; t++)
    if (a.config.targets[t]) targets.push_back(kModules[t]);
  for (size_t l = 0; l < a.layers.size(); l++)
    for (int t = 0; t < kLoraTargets; t++) {
      const LoraMatrix& m = a.layers[l][t];
      if (!m.active()) continue;
      auto tt = static_cast<LoraTarget>(t);
      ts.push_back({lora_tensor_name(a.names, static_cast<int>(l), tt, 'A'), DType::F32, {a.config.rank, m.in}, m.a.data()});
      ts.push_back({lora_tensor_name(a.names, static_cast<int>(l), tt, 'B'), DType::F32, {m.out, a.config.rank}, m.b.data()});
    }
  safetensors_write(dir + "/adapter_model.safetensors", ts, {{"format", "pt"}});
  nlohmann::json cfg = {
      {"peft_type", "LORA"}, {"task_type", "CAUSAL_LM"}, {"r", a.config.rank},
      {"lora_alpha", a.config.alpha}, {"lora_dropout", a.config.dropout}, {"use_rslora", a.config.use_rslora},
      {"target_modules", targets}, {"bias", "none"}, {"fan_in_fan_out", false}, {"inference_mode", true},
      {"base_model_name_or_path", a.config.base_model}, {"init_lora_weights", true},
      {"modules_to_save", nullptr}, {"layers_to_transform", nullptr}, {"use_dora", false},
      {"rank_pattern", nlohmann::json::object()}, {"alpha_pattern", nlohmann::json::object()},
  };
  file_write_atomic(dir + "/adapter_config.json", cfg.dump(2) + "\n");
}

}  // namespace loam
