// Preference objectives against the PyTorch reference
// (tools/make_dpo_refs.py -> tests/data/dpo/): for each loss type, on the
// tiny llama, qwen3 and gemma2 checkpoints, the reference policy's log-probs
// (adapter off), the step loss, the per-pair rewards and every LoRA
// gradient; then one AdamW step from the llama adapter.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "core/file_io.h"
#include "formats/safetensors.h"
#include "model/lora.h"
#include "model/model.h"
#include "train/optimizer.h"
#include "train/preference_loss.h"
#include "train/preference_step.h"

namespace loam {
namespace {

const std::string kData = std::string(LOAM_TEST_DATA) + "/dpo";
const std::string kModels = std::string(LOAM_TEST_DATA) + "/models/";

std::vector<PreferencePair> pairs_load() {
  std::vector<PreferencePair> out;
  for (const auto& p : nlohmann::json::parse(file_read_all(kData + "/pairs.json")))
    out.push_back({p.at("prompt").get<std::vector<int32_t>>(), p.at("chosen").get<std::vector<int32_t>>(),
                   p.at("rejected").get<std::vector<int32_t>>()});
  return out;
}

PreferenceLossConfig loss_config(const nlohmann::json& c) {
  PreferenceLossConfig l;
  l.type = preference_loss_parse(c.at("loss_type").get<std::string>(), "loss_type");
  l.beta = c.at("beta").get<double>();
  l.label_smoothing = c.at("label_smoothing").get<double>();
  l.sft_weight = c.at("sft_weight").get<double>();
  l.simpo_gamma = c.at("simpo_gamma").get<double>();
  return l;
}

// Every LoRA tensor within `rel` of the reference's norm; each element
// within rel of its value plus rel of the tensor's largest entry, plus `abs`.
void expect_tensors_match(const LoraAdapter& got, const SafetensorsFile& ref, const std::string& prefix, double rel,
                          double abs = 1e-12) {
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
        double diff2 = 0, norm2 = 0, amax = 0;
        for (size_t i = 0; i < v.size(); i++) amax = std::max(amax, std::fabs(double{want[i]}));
        for (size_t i = 0; i < v.size(); i++) {
          ASSERT_NEAR(v[i], want[i], rel * (std::fabs(want[i]) + amax) + abs) << prefix << name << "[" << i << "]";
          diff2 += (v[i] - double{want[i]}) * (v[i] - double{want[i]});
          norm2 += double{want[i]} * want[i];
        }
        EXPECT_LE(std::sqrt(diff2), rel * std::sqrt(norm2) + 1e-12) << prefix << name;
        compared++;
      }
    }
  EXPECT_GT(compared, 0);
}

struct StepRun {
  double loss = 0;
  PreferenceStepStats stats;
  LoraAdapter grads;
};

StepRun run_step(const Model& m, const LoraAdapter& lora, const std::vector<PreferencePair>& pairs,
                 const std::vector<PairLogps>& ref, const PreferenceLossConfig& c) {
  StepRun r;
  r.grads = lora_zeros_like(lora);
  int64_t n_chosen = 0;
  for (const auto& p : pairs) n_chosen += static_cast<int64_t>(p.chosen.size());
  const double pair_scale = 1.0 / static_cast<double>(pairs.size()), nll_scale = 1.0 / static_cast<double>(n_chosen);
  ForwardWorkspace ws;
  // Two micro-batches, as gradient accumulation splits a step.
  for (const std::vector<int64_t>& mb : {std::vector<int64_t>{0, 1}, std::vector<int64_t>{2}}) {
    std::vector<PairLogps> mb_ref;
    for (int64_t i : mb) mb_ref.push_back(ref[i]);
    PreferenceStepStats s = preference_step(m, lora, r.grads, pairs, mb, mb_ref, c, pair_scale, nll_scale, {}, ws);
    for (size_t k = 0; k < mb.size(); k++) {
      r.stats.policy.push_back(s.policy[k]);
      r.stats.losses.push_back(s.losses[k]);
    }
    r.stats.nll_sum += s.nll_sum;
    r.stats.n_chosen_tokens += s.n_chosen_tokens;
  }
  for (const PairLoss& l : r.stats.losses) r.loss += pair_scale * l.loss;
  const double nll_weight = c.sft_weight + (c.type == PreferenceLossType::Orpo ? 1.0 : 0.0);
  r.loss += nll_weight * r.stats.nll_sum / static_cast<double>(r.stats.n_chosen_tokens);
  return r;
}

TEST(PreferenceStep, EveryLossMatchesThePyTorchReferenceOnThreeArchitectures) {
  const nlohmann::json ref = nlohmann::json::parse(file_read_all(kData + "/reference.json"));
  const SafetensorsFile tensors = SafetensorsFile::open(kData + "/reference.safetensors");
  const std::vector<PreferencePair> pairs = pairs_load();
  ASSERT_EQ(pairs.size(), 3u);
  std::string loaded;
  Model m;
  LoraAdapter lora;
  std::vector<PairLogps> ref_logps;
  int n_cases = 0;
  for (const nlohmann::json& c : ref.at("cases")) {
    const std::string arch = c.at("model");
    SCOPED_TRACE(c.at("name").get<std::string>());
    if (arch != loaded) {
      m = model_load(kModels + arch);
      lora = lora_load(kModels + arch + "/adapter", m.config);
      ForwardWorkspace ws;
      ref_logps = preference_logps(m, nullptr, pairs, {0, 1, 2}, ws);
      loaded = arch;
    }
    for (size_t k = 0; k < pairs.size(); k++) {  // the reference policy: the adapter switched off
      EXPECT_NEAR(ref_logps[k].chosen, c.at("reference_chosen")[k].get<double>(), 1e-5 * std::fabs(ref_logps[k].chosen));
      EXPECT_NEAR(ref_logps[k].rejected, c.at("reference_rejected")[k].get<double>(),
                  1e-5 * std::fabs(ref_logps[k].rejected));
    }
    const PreferenceLossConfig lc = loss_config(c);
    const StepRun r = run_step(m, lora, pairs, ref_logps, lc);
    const double want = c.at("loss").get<double>();
    EXPECT_NEAR(r.loss, want, 1e-4 * std::fabs(want));
    for (size_t k = 0; k < pairs.size(); k++) {
      const double rc = c.at("rewards_chosen")[k].get<double>(), rr = c.at("rewards_rejected")[k].get<double>();
      EXPECT_NEAR(r.stats.losses[k].reward_chosen, rc, 1e-4 * std::fabs(rc) + 1e-7);
      EXPECT_NEAR(r.stats.losses[k].reward_rejected, rr, 1e-4 * std::fabs(rr) + 1e-7);
    }
    expect_tensors_match(r.grads, tensors, c.at("name").get<std::string>() + ".", 1e-4);
    n_cases++;
  }
  EXPECT_EQ(n_cases, 3 * 8);
}

TEST(PreferenceStep, OneAdamWStepMatchesThePyTorchReference) {
  const nlohmann::json ref = nlohmann::json::parse(file_read_all(kData + "/reference.json"));
  const SafetensorsFile tensors = SafetensorsFile::open(kData + "/reference.safetensors");
  const nlohmann::json& a = ref.at("adamw");
  const std::vector<PreferencePair> pairs = pairs_load();
  const Model m = model_load(kModels + a.at("model").get<std::string>());
  LoraAdapter lora = lora_load(kModels + "llama/adapter", m.config);
  ForwardWorkspace ws;
  const std::vector<PairLogps> ref_logps = preference_logps(m, nullptr, pairs, {0, 1, 2}, ws);
  PreferenceLossConfig lc;
  lc.type = PreferenceLossType::Sigmoid;
  lc.beta = 0.1;
  StepRun r = run_step(m, lora, pairs, ref_logps, lc);
  AdamWState st = adamw_init(lora);
  AdamWConfig cfg;
  cfg.weight_decay = a.at("weight_decay").get<float>();
  adamw_step(lora, r.grads, st, cfg, a.at("lr").get<float>());
  // Adam's first step is lr·g/(|g|+ε) per entry: ill-conditioned where the
  // gradient is near 0, hence 1e-5 absolute per element as in
  // sft_loop_test; the tensors as a whole within 1e-5 relative.
  expect_tensors_match(lora, tensors, "adamw.", 1e-5, 1e-5);
}

TEST(PreferenceLoss, UnknownNamesAreRefusedListingTheChoices) {
  try {
    preference_loss_parse("kto", "preference.loss");
    FAIL() << "accepted kto";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("preference.loss"), std::string::npos);
    EXPECT_NE(e.hint().find("orpo"), std::string::npos);
  }
  EXPECT_FALSE(preference_loss_needs_reference(PreferenceLossType::Simpo));
  EXPECT_TRUE(preference_loss_needs_reference(PreferenceLossType::Ipo));
}

}  // namespace
}  // namespace loam
