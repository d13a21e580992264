// `loam merge` on Gemma 3 multimodal wrappers: the merged checkpoint keeps
// every tensor name (the vision tower's bytes unchanged) and config.json, and
// gives the reference's logits_lora (tests/data/models/gemma3-mm).
#include "model/merge.h"

#include <gtest/gtest.h>

#include "core/file_io.h"
#include "model/reference_case.h"

namespace loam {
namespace {

bool same_bytes(const TensorRef& a, const TensorRef& b) {
  return a.dtype == b.dtype && a.shape == b.shape && a.n_bytes == b.n_bytes &&
         std::memcmp(a.data, b.data, a.n_bytes) == 0;
}

void check_merge(const std::string& case_name) {
  const std::string dir = test::model_case_dir(case_name), out = test::scratch_dir("merge_" + case_name);
  Model m = model_load(dir);
  LoraAdapter a = lora_load(dir + "/adapter", m.config);
  model_merge_lora(m, a, out);

  EXPECT_EQ(file_read_all(out + "/config.json"), file_read_all(dir + "/config.json"));
  SafetensorsCheckpoint base = SafetensorsCheckpoint::open_dir(dir), merged = SafetensorsCheckpoint::open_dir(out);
  EXPECT_EQ(merged.names(), base.names());
  int n_changed = 0;
  for (const std::string& name : base.names()) {
    const bool adapted = name.find("_proj.weight") != std::string::npos && name.find("vision_tower") == std::string::npos;
    const bool same = same_bytes(base.get(name), merged.get(name));
    if (adapted) n_changed += !same;
    else EXPECT_TRUE(same) << name << " changed";
  }
  EXPECT_EQ(n_changed, m.config.n_layers * kLoraTargets);

  Model mm = model_load(out);
  EXPECT_EQ(mm.config.hf_layout, m.config.hf_layout);
  SafetensorsFile ref = SafetensorsFile::open(test::model_case_dir("gemma3-mm") + "/reference.safetensors");
  const double d = test::reference_logits_maxdiff(mm, nullptr, ref, "logits_lora");
  EXPECT_LE(d, 1e-4) << case_name << " merged maxdiff " << d;
}

TEST(MergeWrapper, KeepsNamesVisionTowerAndConfig) { check_merge("gemma3-mm"); }

TEST(MergeWrapper, NewerLayoutFromShards) { check_merge("gemma3-mm-452"); }

}  // namespace
}  // namespace loam
