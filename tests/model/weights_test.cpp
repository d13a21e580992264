// Loading checkpoints by their tensor names: the plain causal-LM layout and a
// Gemma 3 multimodal wrapper's two layouts (tests/data/models/gemma3-mm,
// transformers < 4.52; gemma3-mm-452, >= 4.52 and sharded, the same weights),
// and the errors a missing language-model tensor gives.
#include "model/weights.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "model/lora.h"
#include "model/model.h"
#include "model/reference_case.h"

namespace loam {
namespace {

namespace fs = std::filesystem;

TEST(HfTensorLayout, DetectedFromTheTensorNames) {
  const ModelConfig plain = model_load(test::model_case_dir("gemma3")).config;
  EXPECT_EQ(plain.hf_layout.decoder, "model");
  EXPECT_EQ(plain.hf_layout.lm_head, "lm_head.weight");
  const ModelConfig old_layout = model_load(test::model_case_dir("gemma3-mm")).config;
  EXPECT_EQ(old_layout.hf_layout.decoder, "language_model.model");
  EXPECT_EQ(old_layout.hf_layout.lm_head, "language_model.lm_head.weight");
  EXPECT_EQ(old_layout.hf_architecture, "Gemma3ForConditionalGeneration");
  const ModelConfig new_layout = model_load(test::model_case_dir("gemma3-mm-452")).config;
  EXPECT_EQ(new_layout.hf_layout.decoder, "model.language_model");
  EXPECT_EQ(new_layout.hf_layout.lm_head, "lm_head.weight");
}

// The >= 4.52 layout (sharded, adapter named after it) gives gemma3-mm's
// reference logits, with and without its adapter. (gemma3-mm itself runs in
// ReferenceLogits with every other case.)
TEST(HfTensorLayout, NewerWrapperLayoutMatchesTheReference) {
  const std::string dir = test::model_case_dir("gemma3-mm-452");
  Model m = model_load(dir);
  SafetensorsFile ref = SafetensorsFile::open(test::model_case_dir("gemma3-mm") + "/reference.safetensors");
  double d = test::reference_logits_maxdiff(m, nullptr, ref, "logits");
  EXPECT_LE(d, 1e-4) << "maxdiff " << d;
  LoraAdapter lora = lora_load(dir + "/adapter", m.config);
  d = test::reference_logits_maxdiff(m, &lora, ref, "logits_lora");
  EXPECT_LE(d, 1e-4) << "LoRA maxdiff " << d;
}

// Writes `case_name` into a scratch directory without tensor `drop`.
std::string checkpoint_without(const std::string& case_name, const std::string& drop) {
  const std::string src = test::model_case_dir(case_name), dir = test::scratch_dir("weights_" + case_name);
  fs::copy_file(src + "/config.json", dir + "/config.json");
  SafetensorsFile f = SafetensorsFile::open(src + "/model.safetensors");
  std::vector<TensorToWrite> ts;
  for (const TensorRef& t : f.tensors())
    if (t.name != drop) ts.push_back({t.name, t.dtype, t.shape, t.data});
  EXPECT_EQ(ts.size() + 1, f.tensors().size()) << drop << " not in " << case_name;
  safetensors_write(dir + "/model.safetensors", ts);
  return dir;
}

void expect_missing(const std::string& case_name, const std::string& tensor) {
  const std::string dir = checkpoint_without(case_name, tensor);
  try {
    model_load(dir);
    ADD_FAILURE() << "loaded without " << tensor;
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), dir + "/model.safetensors: tensor " + tensor);
    EXPECT_EQ(e.message(), "missing tensor");
  }
}

TEST(HfTensorLayout, MissingWrapperTensorNamesTheFileAndTensor) {
  expect_missing("gemma3-mm", "language_model.model.layers.2.mlp.up_proj.weight");
  expect_missing("gemma3-mm", "language_model.model.embed_tokens.weight");
  expect_missing("gemma3-mm", "language_model.model.norm.weight");
  expect_missing("gemma3", "model.layers.1.self_attn.k_norm.weight");
}

// Vision tensors are never needed: a wrapper without them still loads.
TEST(HfTensorLayout, VisionTowerIsNotRead) {
  const std::string dir = checkpoint_without("gemma3-mm", "vision_tower.vision_model.post_layernorm.weight");
  Model m = model_load(dir);
  SafetensorsFile ref = SafetensorsFile::open(test::model_case_dir("gemma3-mm") + "/reference.safetensors");
  EXPECT_LE(test::reference_logits_maxdiff(m, nullptr, ref, "logits"), 1e-4);
}

}  // namespace
}  // namespace loam
