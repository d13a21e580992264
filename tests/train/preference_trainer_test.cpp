// preference_train end to end on the tiny llama checkpoint with the
// pre-tokenized pairs of tests/data/dpo: one optimizer step through the
// whole trainer equals PyTorch's AdamW step (tools/make_dpo_refs.py); the
// reward accuracy and margin grow over a short run; a resumed run reads the
// reference log-probs from its checkpoint and ends bit-exactly where an
// uninterrupted one does; a second run reuses the disk cache.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "core/file_io.h"
#include "formats/safetensors.h"
#include "model/lora.h"
#include "model/model.h"
#include "train/preference_trainer.h"

namespace loam {
namespace {

namespace fs = std::filesystem;

const std::string kData = std::string(LOAM_TEST_DATA) + "/dpo";
const std::string kModel = std::string(LOAM_TEST_DATA) + "/models/llama";

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& tag)
      : path(fs::temp_directory_path() / ("loam_pref_" + tag + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string str(const std::string& sub) const { return (path / sub).string(); }
};

// tests/data/dpo/pairs.json as a pre-tokenized preference dataset.
std::string write_pairs(const TempDir& t) {
  const std::string path = t.str("prefs.jsonl");
  std::ofstream f(path);
  for (const auto& p : nlohmann::json::parse(file_read_all(kData + "/pairs.json")))
    f << nlohmann::json{{"prompt_ids", p["prompt"]}, {"chosen_ids", p["chosen"]}, {"rejected_ids", p["rejected"]}}.dump()
      << "\n";
  return path;
}

PreferenceConfig base_config(const std::string& train, const std::string& out) {
  PreferenceConfig c;
  c.sft.job.source_model = kModel;
  c.sft.job.train = train;
  c.sft.job.output = out;
  c.sft.job.init_adapter = kModel + "/adapter";
  c.preference.reference = "base";
  c.sft.lora.dropout = 0;
  c.sft.hyperparameters.batch_size = 3;
  c.sft.hyperparameters.warmup_ratio = 0;
  c.sft.hyperparameters.lr_scheduler = LrSchedule::Constant;
  c.sft.hyperparameters.max_grad_norm = 0;
  c.sft.hyperparameters.save_total_limit = 0;
  return c;
}

std::vector<nlohmann::json> metrics_of(const std::string& out) {
  std::vector<nlohmann::json> v;
  std::ifstream f(out + "/metrics.jsonl");
  for (std::string line; std::getline(f, line);) v.push_back(nlohmann::json::parse(line));
  return v;
}

TEST(PreferenceTrainer, OneStepEqualsThePyTorchAdamWStep) {
  TempDir t("adamw");
  const nlohmann::json ref = nlohmann::json::parse(file_read_all(kData + "/reference.json"));
  PreferenceConfig c = base_config(write_pairs(t), t.str("out"));
  c.sft.hyperparameters.epochs = 1;
  c.sft.hyperparameters.learning_rate = ref["adamw"]["lr"].get<float>();
  c.sft.hyperparameters.weight_decay = ref["adamw"]["weight_decay"].get<float>();
  c.preference.loss.beta = 0.1;
  const Model m = model_load(kModel);
  const PreferenceData data = preference_data_load(c.sft, nullptr, m.config.vocab);
  ASSERT_EQ(data.train.size(), 3u);
  const SftResult r = preference_train(m, data, c, {}, {});
  EXPECT_EQ(r.steps, 1);
  const LoraAdapter got = lora_load(t.str("out"), m.config);
  const SafetensorsFile want = SafetensorsFile::open(kData + "/reference.safetensors");
  int compared = 0;
  for (size_t l = 0; l < got.layers.size(); l++)
    for (int k = 0; k < kLoraTargets; k++) {
      const LoraMatrix& mm = got.layers[l][k];
      if (!mm.active()) continue;
      for (char which : {'A', 'B'}) {
        const std::string name = lora_tensor_name(got.names, static_cast<int>(l), static_cast<LoraTarget>(k), which);
        const TensorRef* w = want.find("adamw." + name);
        ASSERT_NE(w, nullptr);
        const float* wv = reinterpret_cast<const float*>(w->data);
        const std::vector<float>& v = which == 'A' ? mm.a : mm.b;
        for (size_t i = 0; i < v.size(); i++) ASSERT_NEAR(v[i], wv[i], 1e-5 * std::fabs(wv[i]) + 1e-5) << name;
        compared++;
      }
    }
  EXPECT_GT(compared, 0);
  const auto metrics = metrics_of(t.str("out"));
  ASSERT_EQ(metrics.size(), 1u);
  for (const char* k : {"rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies", "logps/chosen",
                        "logps/rejected"})
    EXPECT_TRUE(metrics[0].contains(k)) << k;
  EXPECT_TRUE(file_exists(t.str("out") + "/adapter.gguf"));
}

TEST(PreferenceTrainer, RewardsSeparateAndResumeIsBitExact) {
  TempDir t("resume");
  const std::string train = write_pairs(t);
  PreferenceConfig c = base_config(train, t.str("full"));
  c.sft.job.validation = train;  // the same pairs scored by the validation pass
  c.sft.hyperparameters.epochs = 8;
  c.sft.hyperparameters.learning_rate = 1e-2f;
  c.preference.loss.beta = 0.5;
  c.preference.cache_dir = t.str("cache");
  const Model m = model_load(kModel);
  const PreferenceData data = preference_data_load(c.sft, nullptr, m.config.vocab);
  std::vector<std::string> logs;
  TrainCallbacks cb;
  cb.on_log = [&](const std::string& s) { logs.push_back(s); };
  preference_train(m, data, c, {}, cb);
  const auto full = metrics_of(t.str("full"));
  ASSERT_EQ(full.size(), 8u);
  EXPECT_GT(full.back()["val_rewards/margins"].get<double>(), full.front()["val_rewards/margins"].get<double>() + 0.1);
  EXPECT_EQ(full.back()["val_rewards/accuracies"].get<double>(), 1.0);
  EXPECT_LT(full.back()["val_loss"].get<double>(), full.front()["val_loss"].get<double>());
  EXPECT_TRUE(file_exists(t.str("full") + "/checkpoints/step-4/reference_logps.json"));

  // Four steps, then resume to eight: reference log-probs from the checkpoint.
  PreferenceConfig half = c;
  half.sft.job.output = t.str("half");
  half.sft.hyperparameters.max_steps = 4;
  logs.clear();
  preference_train(m, data, half, {}, cb);
  bool cached = false;
  for (const std::string& s : logs) cached |= s.find("from the cache") != std::string::npos;
  EXPECT_TRUE(cached) << "the second run recomputed the reference log-probs";
  PreferenceConfig rest = c;
  rest.sft.job.output = t.str("half");
  rest.sft.job.resume = t.str("half");
  rest.sft.job.resume_allow = {"hyperparameters.max_steps"};
  rest.preference.cache_dir = "";
  logs.clear();
  preference_train(m, data, rest, {}, cb);
  bool from_ckpt = false;
  for (const std::string& s : logs) from_ckpt |= s.find("from the checkpoint") != std::string::npos;
  EXPECT_TRUE(from_ckpt);
  const LoraAdapter a = lora_load(t.str("full"), m.config), b = lora_load(t.str("half"), m.config);
  for (size_t l = 0; l < a.layers.size(); l++)
    for (int k = 0; k < kLoraTargets; k++) {
      EXPECT_EQ(a.layers[l][k].a, b.layers[l][k].a);
      EXPECT_EQ(a.layers[l][k].b, b.layers[l][k].b);
    }

  // A changed objective is refused on resume.
  PreferenceConfig other = rest;
  other.preference.loss.beta = 0.1;
  EXPECT_THROW(preference_train(m, data, other, {}, cb), Error);
}

TEST(PreferenceTrainer, RefusesSftDataAndABadReference) {
  TempDir t("bad");
  const std::string sft = t.str("sft.jsonl");
  file_write_atomic(sft, "{\"input_ids\": [1, 2, 3], \"labels\": [-100, 2, 3]}\n");
  PreferenceConfig c = base_config(sft, t.str("out"));
  const Model m = model_load(kModel);
  try {
    preference_data_load(c.sft, nullptr, m.config.vocab);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no preference pairs"), std::string::npos) << e.what();
  }
  c.preference.reference = t.str("nowhere");
  EXPECT_THROW(preference_config_check(c), Error);
  c.preference.reference = "init";
  c.sft.job.init_adapter.clear();
  EXPECT_THROW(preference_config_check(c), Error);
}

}  // namespace
}  // namespace loam
