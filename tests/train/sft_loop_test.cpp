// The real training loop (sft_train) against a PyTorch reference
// (tools/make_sft_refs.py -> tests/data/sft_loop/): four optimizer steps of
// LoRA tuning on the tiny llama checkpoint, from its PEFT adapter, with
// gradient accumulation, clipping, AdamW with weight decay and a cosine
// schedule with warmup; every step's checkpoint is compared. Also: the
// loop's events reach a caller's sink, a non-finite loss stops the run, and
// the resume checks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "core/file_io.h"
#include "formats/safetensors.h"
#include "model/lora.h"
#include "model/model.h"
#include "train/run_dir.h"
#include "train/sft_config.h"
#include "train/sft_data.h"
#include "train/sft_trainer.h"

namespace loam {
namespace {

namespace fs = std::filesystem;

const std::string kData = std::string(LOAM_TEST_DATA) + "/sft_loop";
const std::string kModel = std::string(LOAM_TEST_DATA) + "/models/llama";

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& tag)
      : path(fs::temp_directory_path() / ("loam_sft_" + tag + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string str(const std::string& sub = "") const { return sub.empty() ? path.string() : (path / sub).string(); }
};

SftConfig reference_config(const nlohmann::json& r, const std::string& out) {
  const nlohmann::json& c = r.at("config");
  SftConfig cfg;
  cfg.job.source_model = kModel;
  cfg.job.train = kData + "/train.jsonl";
  cfg.job.output = out;
  cfg.job.init_adapter = kModel + "/adapter";
  cfg.lora.dropout = c.at("lora_dropout").get<float>();
  SftHyperparameters& h = cfg.hyperparameters;
  h.batch_size = c.at("batch_size").get<int>();
  h.gradient_accumulation_steps = c.at("gradient_accumulation_steps").get<int>();
  h.epochs = c.at("epochs").get<int>();
  h.learning_rate = c.at("learning_rate").get<float>();
  h.warmup_ratio = c.at("warmup_ratio").get<float>();
  h.lr_scheduler = lr_schedule_parse(c.at("lr_scheduler").get<std::string>());
  h.weight_decay = c.at("weight_decay").get<float>();
  h.max_grad_norm = c.at("max_grad_norm").get<float>();
  h.seed = c.at("seed").get<uint64_t>();
  h.max_seq_length = c.at("max_seq_length").get<int>();
  h.save_total_limit = 0;  // keep every step's checkpoint
  return cfg;
}

void expect_adapter_matches(const LoraAdapter& got, const SafetensorsFile& ref, int step) {
  const std::string prefix = "step" + std::to_string(step) + ".";
  int compared = 0;
  for (size_t l = 0; l < got.layers.size(); l++)
    for (int t = 0; t < kLoraTargets; t++) {
      const LoraMatrix& m = got.layers[l][t];
      if (!m.active()) continue;
      for (char which : {'A', 'B'}) {
        const std::string name = lora_tensor_name(got.names, static_cast<int>(l), static_cast<LoraTarget>(t), which);
        const TensorRef* r = ref.find(prefix + name);
        ASSERT_NE(r, nullptr) << prefix + name;
        const std::vector<float>& v = which == 'A' ? m.a : m.b;
        ASSERT_EQ(r->n_elements(), static_cast<int64_t>(v.size())) << name;
        const float* want = reinterpret_cast<const float*>(r->data);
        // Each element within 1e-5 relative, plus 1e-5 absolute for the
        // entries whose gradient is near 0, where Adam's m/sqrt(v) is
        // ill-conditioned (as tests/data/models' adapter_step_abs); the
        // tensor as a whole within 1e-5 relative.
        double diff2 = 0, norm2 = 0;
        for (size_t i = 0; i < v.size(); i++) {
          ASSERT_NEAR(v[i], want[i], 1e-5 * std::fabs(want[i]) + 1e-5)
              << "step " << step << " " << name << "[" << i << "]";
          diff2 += (v[i] - double{want[i]}) * (v[i] - double{want[i]});
          norm2 += double{want[i]} * want[i];
        }
        EXPECT_LE(std::sqrt(diff2), 1e-5 * std::sqrt(norm2)) << "step " << step << " " << name;
        compared++;
      }
    }
  EXPECT_EQ(compared, 2 * 2 * kLoraTargets);  // 2 layers, every target, A and B
}

TEST(SftLoop, FourStepsMatchThePyTorchReference) {
  const nlohmann::json ref = nlohmann::json::parse(file_read_all(kData + "/reference.json"));
  const SafetensorsFile ref_tensors = SafetensorsFile::open(kData + "/reference.safetensors");
  TempDir tmp("ref");
  const SftConfig cfg = reference_config(ref, tmp.str("out"));
  const Model m = model_load(kModel);
  // The llama test model has no tokenizer files: pre-tokenized data needs none.
  ASSERT_FALSE(file_exists(kModel + "/tokenizer.json"));
  const SftData data = sft_data_load(cfg, nullptr, m.config.vocab);
  ASSERT_EQ(data.train.size(), 4u);

  std::vector<int64_t> checkpoints, steps;
  int finished = 0;
  TrainCallbacks sink;  // a caller's own sink sees every event
  sink.on_step = [&](const TrainProgress& p) { steps.push_back(p.step); };
  sink.on_checkpoint = [&](const TrainCheckpoint& c) { checkpoints.push_back(c.step); };
  sink.on_finished = [&](const TrainFinished& f) {
    finished++;
    EXPECT_EQ(f.result->status, TrainStatus::Completed);
  };
  const SftResult r = sft_train(m, data, cfg, SftFormat{}, sink);
  const int64_t n = ref.at("steps").get<int64_t>();
  EXPECT_EQ(r.steps, n);
  EXPECT_EQ(steps, (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(checkpoints, (std::vector<int64_t>{1, 2, 3, 4}));  // one step per epoch, a checkpoint at each end
  EXPECT_EQ(finished, 1);

  // Every step's adapter, through the checkpoints the run wrote, and the final one.
  for (int64_t s = 1; s <= n; s++) {
    SCOPED_TRACE("step " + std::to_string(s));
    expect_adapter_matches(lora_load(cfg.job.output + "/checkpoints/step-" + std::to_string(s), m.config),
                           ref_tensors, static_cast<int>(s));
  }
  expect_adapter_matches(lora_load(cfg.job.output, m.config), ref_tensors, static_cast<int>(n));

  // Loss, pre-clip gradient norm and learning rate of each step.
  std::ifstream metrics(cfg.job.output + "/metrics.jsonl");
  std::string line;
  int64_t k = 0;
  while (std::getline(metrics, line)) {
    const nlohmann::json j = nlohmann::json::parse(line);
    const double loss = ref["losses"][k].get<double>(), norm = ref["grad_norms"][k].get<double>();
    EXPECT_NEAR(j.at("loss").get<double>(), loss, 1e-5 * loss) << "step " << k + 1;
    EXPECT_NEAR(j.at("grad_norm").get<double>(), norm, 1e-5 * norm) << "step " << k + 1;
    EXPECT_NEAR(j.at("learning_rate").get<double>(), ref["learning_rates"][k].get<double>(), 1e-9) << k + 1;
    k++;
  }
  EXPECT_EQ(k, n);
  const nlohmann::json summary = nlohmann::json::parse(file_read_all(cfg.job.output + "/summary.json"));
  EXPECT_EQ(summary.at("config").at("adapter_size").get<int>(), 4);  // the init adapter's rank, not --adapter-size 8
}

TEST(SftLoop, ANonFiniteLossStopsNamingTheStepAndWritesNoAdapter) {
  const nlohmann::json ref = nlohmann::json::parse(file_read_all(kData + "/reference.json"));
  TempDir tmp("nan");
  // The reference adapter with one NaN weight.
  const Model m = model_load(kModel);
  LoraAdapter bad = lora_load(kModel + "/adapter", m.config);
  bad.layers[0][0].b[0] = std::numeric_limits<float>::quiet_NaN();
  lora_save(tmp.str("bad_adapter"), bad);
  SftConfig cfg = reference_config(ref, tmp.str("out"));
  cfg.job.init_adapter = tmp.str("bad_adapter");
  const SftData data = sft_data_load(cfg, nullptr, m.config.vocab);
  try {
    sft_train(m, data, cfg, SftFormat{}, TrainCallbacks{});
    FAIL() << "a NaN loss trained on";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "step 1");
    EXPECT_NE(e.message().find("not finite"), std::string::npos) << e.message();
  }
  EXPECT_FALSE(file_exists(cfg.job.output + "/adapter_model.safetensors"));
  EXPECT_FALSE(file_exists(cfg.job.output + "/summary.json"));
}

TEST(SftLoop, ResumeRefusesAChangedLearningRateAndAcceptsAllowedChanges) {
  const nlohmann::json ref = nlohmann::json::parse(file_read_all(kData + "/reference.json"));
  TempDir tmp("resume");
  const Model m = model_load(kModel);
  SftConfig cfg = reference_config(ref, tmp.str("out"));
  cfg.hyperparameters.max_steps = 2;
  const SftData data = sft_data_load(cfg, nullptr, m.config.vocab);
  sft_train(m, data, cfg, SftFormat{}, TrainCallbacks{});
  // A new run may not reuse the directory ...
  try {
    sft_train(m, data, cfg, SftFormat{}, TrainCallbacks{});
    FAIL() << "a non-empty output of another run was reused";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "job.output");
  }
  // ... a resume with another learning rate is refused naming both values ...
  SftConfig changed = cfg;
  changed.job.resume = cfg.job.output;  // the output directory: its newest checkpoint
  changed.hyperparameters.learning_rate = 1e-3f;
  changed.hyperparameters.max_steps = 4;
  try {
    sft_train(m, data, changed, SftFormat{}, TrainCallbacks{});
    FAIL() << "a changed learning rate was resumed";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::FailedPrecondition);
    EXPECT_NE(e.message().find("hyperparameters.learning_rate: 0.005 in the checkpoint, 0.001 now"), std::string::npos)
        << e.message();
    EXPECT_NE(e.message().find("hyperparameters.max_steps: 2 in the checkpoint, 4 now"), std::string::npos)
        << e.message();
  }
  // ... and more steps are accepted when allowed, finishing where an
  // uninterrupted 4-step run with max_steps 4 would not (the schedule is the
  // saved one's), leaving no *.tmp* leftovers.
  SftConfig more = cfg;
  more.job.resume = cfg.job.output;
  more.hyperparameters.max_steps = 4;
  more.job.resume_allow = {"hyperparameters.max_steps"};
  fs::create_directories(cfg.job.output + "/checkpoints/step-9.tmp");
  file_write_atomic(cfg.job.output + "/checkpoints/step-9.tmp/junk", "x");
  // The ETA after a resume divides this process's time by this process's
  // steps (3 and 4 of 4), not by all steps since the start (issue 9: it
  // came out several times too small).
  std::vector<TrainProgress> after;
  TrainCallbacks watch;
  watch.on_step = [&](const TrainProgress& p) { after.push_back(p); };
  const SftResult r = sft_train(m, data, more, SftFormat{}, watch);
  EXPECT_EQ(r.steps, 4);
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0].step, 3);
  EXPECT_DOUBLE_EQ(after[0].eta_s, after[0].elapsed_s * 1.0);  // 1 step done here, 1 to go
  EXPECT_DOUBLE_EQ(after[1].eta_s, 0.0);
  EXPECT_FALSE(fs::exists(cfg.job.output + "/checkpoints/step-9.tmp"));
}

TEST(SftConfigCheck, RejectsValuesOutsideTheirRangeNamingTheField) {
  struct Case {
    std::function<void(SftConfig&)> set;
    const char* field;
  };
  const std::vector<Case> cases = {
      {[](SftConfig& c) { c.hyperparameters.epochs = 0; }, "hyperparameters.epochs"},
      {[](SftConfig& c) { c.hyperparameters.learning_rate = 0.0f; }, "hyperparameters.learning_rate"},
      {[](SftConfig& c) { c.lora.alpha = 0.0f; }, "lora.alpha"},
      {[](SftConfig& c) { c.runtime.threads = 0; }, "runtime.threads"},
      {[](SftConfig& c) { c.runtime.threads = -1; }, "runtime.threads"},
      {[](SftConfig& c) { c.hyperparameters.max_steps = 0; }, "hyperparameters.max_steps"},
      {[](SftConfig& c) { c.lora.rank = 0; }, "lora.rank"},
      {[](SftConfig& c) { c.hyperparameters.eval_strategy = EvalStrategy::Steps; }, "hyperparameters.eval_steps"},
      {[](SftConfig& c) { c.job.resume_allow = {"hyperparameters.learning_rate"}; }, "job.resume_allow"},
      {[](SftConfig& c) { c.lora.target_modules = {"qproj"}; }, "lora.target_modules"},
  };
  for (const Case& k : cases) {
    SftConfig c;
    c.job.source_model = "m";
    c.job.train = "t.jsonl";
    EXPECT_NO_THROW(sft_config_check(c));
    k.set(c);
    try {
      sft_config_check(c);
      ADD_FAILURE() << k.field << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.where(), k.field);
    }
  }
  // Unset is not zero: the defaults are chosen, and stated.
  SftConfig c;
  EXPECT_EQ(sft_learning_rate(c), 2e-4f);
  EXPECT_EQ(sft_epochs(c, 100), 10);
  EXPECT_EQ(sft_lora_config(c).alpha, 16.0f);
  EXPECT_EQ(sft_eval_strategy(c), EvalStrategy::Epoch);
  c.hyperparameters.eval_steps = 5;
  EXPECT_EQ(sft_eval_strategy(c), EvalStrategy::Steps);
}

TEST(SftRunDir, ResumeFindsTheNewestCheckpointOfAnOutputDirectory) {
  TempDir tmp("dir");
  for (const char* d : {"checkpoints/step-3", "checkpoints/step-12", "checkpoints/step-20.tmp"}) {
    fs::create_directories(tmp.path / d);
    file_write_atomic((tmp.path / d / "trainer_state.json").string(), "{}");
  }
  EXPECT_EQ(sft_resume_checkpoint(tmp.str()), tmp.str("checkpoints/step-12"));
  EXPECT_EQ(sft_resume_checkpoint(tmp.str("checkpoints/step-3")), tmp.str("checkpoints/step-3"));
  EXPECT_THROW(sft_resume_checkpoint(tmp.str("checkpoints")), Error);
  // Another run's directory is refused; cleared only on request, of run files only.
  file_write_atomic(tmp.str("notes.txt"), "mine");
  EXPECT_THROW(sft_output_check(tmp.str(), "", false), Error);
  EXPECT_NO_THROW(sft_output_check(tmp.str(), tmp.str("checkpoints/step-12"), false));
  EXPECT_NO_THROW(sft_output_check(tmp.str(), tmp.str("checkpoints/step-12/"), false));
  sft_output_check(tmp.str(), "", true);
  EXPECT_FALSE(fs::exists(tmp.path / "checkpoints"));
  EXPECT_TRUE(fs::exists(tmp.path / "notes.txt"));
}

}  // namespace
}  // namespace loam
