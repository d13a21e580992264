// PEFT adapter files: tensor names as PEFT writes them for the base
// checkpoint ("base_model.model." + the module's path in it), bit-exact save
// and reload, and refusals. The reference adapters in tests/data/models/
// gemma3-mm*/adapter were named by tools/make_model_refs.py.
#include "model/lora.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "core/error.h"
#include "model/model.h"
#include "model/reference_case.h"

namespace loam {
namespace {

namespace fs = std::filesystem;

std::set<std::string> tensor_names(const std::string& path) {
  const SafetensorsFile f = SafetensorsFile::open(path);
  std::set<std::string> names;
  for (const TensorRef& t : f.tensors()) names.insert(t.name);
  return names;
}

void expect_same_adapter(const LoraAdapter& a, const LoraAdapter& b) {
  ASSERT_EQ(a.layers.size(), b.layers.size());
  EXPECT_EQ(a.names, b.names);
  EXPECT_EQ(a.config.rank, b.config.rank);
  for (size_t l = 0; l < a.layers.size(); l++)
    for (int t = 0; t < kLoraTargets; t++) {
      EXPECT_EQ(a.layers[l][t].a, b.layers[l][t].a) << "layer " << l << " target " << t;
      EXPECT_EQ(a.layers[l][t].b, b.layers[l][t].b) << "layer " << l << " target " << t;
    }
}

TEST(LoraNames, PlainCausalLm) {
  EXPECT_EQ(lora_tensor_name(3, LoraTarget::Q, 'A'), "base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight");
  EXPECT_EQ(lora_tensor_name(0, LoraTarget::Down, 'B'), "base_model.model.model.layers.0.mlp.down_proj.lora_B.weight");
}

// A new adapter on a wrapper is named as PEFT names it for that checkpoint,
// and saving then loading it is bit-exact.
void check_init_save_load(const std::string& case_name, const std::string& one_name) {
  const std::string dir = test::model_case_dir(case_name);
  Model m = model_load(dir);
  LoraConfig lc;
  lc.rank = 4;
  lc.alpha = 8.0f;
  LoraAdapter a = lora_init(m.config, lc, 11);
  for (auto& layer : a.layers)
    for (LoraMatrix& mat : layer)
      for (size_t i = 0; i < mat.b.size(); i++) mat.b[i] = 0.001f * static_cast<float>(i % 7);
  const std::string out = test::scratch_dir("lora_" + case_name);
  lora_save(out, a);
  const auto saved = tensor_names(out + "/adapter_model.safetensors");
  EXPECT_EQ(saved, tensor_names(dir + "/adapter/adapter_model.safetensors")) << case_name;
  EXPECT_TRUE(saved.count(one_name)) << one_name;
  expect_same_adapter(lora_load(out, m.config), a);
}

TEST(LoraNames, WrapperAdapterUsesTheCheckpointsModulePaths) {
  check_init_save_load("gemma3-mm", "base_model.model.language_model.model.layers.5.self_attn.q_proj.lora_A.weight");
  check_init_save_load("gemma3-mm-452", "base_model.model.model.language_model.layers.0.mlp.down_proj.lora_B.weight");
  check_init_save_load("gemma3", "base_model.model.model.layers.2.mlp.gate_proj.lora_A.weight");
}

// PEFT under transformers >= 4.52 names an adapter for an older-layout
// checkpoint the new way (and the other way round): both load, keep their
// names when saved again, and hold the same numbers.
TEST(LoraNames, AdapterOfTheOtherWrapperLayoutLoads) {
  Model m = model_load(test::model_case_dir("gemma3-mm"));
  LoraAdapter own = lora_load(test::model_case_dir("gemma3-mm") + "/adapter", m.config);
  LoraAdapter other = lora_load(test::model_case_dir("gemma3-mm-452") + "/adapter", m.config);
  EXPECT_EQ(own.names.decoder, "language_model.model");
  EXPECT_EQ(other.names.decoder, "model.language_model");
  for (size_t l = 0; l < own.layers.size(); l++)
    for (int t = 0; t < kLoraTargets; t++) {
      EXPECT_EQ(own.layers[l][t].a, other.layers[l][t].a);
      EXPECT_EQ(own.layers[l][t].b, other.layers[l][t].b);
    }
  const std::string out = test::scratch_dir("lora_other_layout");
  lora_save(out, other);
  EXPECT_EQ(tensor_names(out + "/adapter_model.safetensors"),
            tensor_names(test::model_case_dir("gemma3-mm-452") + "/adapter/adapter_model.safetensors"));
}

// An adapter that also adapts the vision tower (PEFT target_modules by name
// matches its q_proj too) is refused, naming the tensor.
TEST(LoraNames, VisionTowerAdapterIsRefused) {
  const std::string src = test::model_case_dir("gemma3-mm") + "/adapter", out = test::scratch_dir("lora_vision");
  fs::copy_file(src + "/adapter_config.json", out + "/adapter_config.json");
  SafetensorsFile f = SafetensorsFile::open(src + "/adapter_model.safetensors");
  std::vector<TensorToWrite> ts;
  for (const TensorRef& t : f.tensors()) ts.push_back({t.name, t.dtype, t.shape, t.data});
  const std::string vision = "base_model.model.vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.lora_A.weight";
  std::vector<float> zeros(4 * 16, 0.0f);
  ts.push_back({vision, DType::F32, {4, 16}, zeros.data()});
  safetensors_write(out + "/adapter_model.safetensors", ts);
  Model m = model_load(test::model_case_dir("gemma3-mm"));
  try {
    lora_load(out, m.config);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), out + "/adapter_model.safetensors: tensor " + vision);
    EXPECT_NE(e.message().find("vision tower"), std::string::npos) << e.message();
  }
}

}  // namespace
}  // namespace loam
