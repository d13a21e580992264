#include "train/preference_trainer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>

#include "core/error.h"
#include "core/file_io.h"
#include "data/sft_tokenize.h"
#include "data/validate.h"
#include "model/lora.h"
#include "train/checkpoint.h"
#include "train/data_hash.h"
#include "train/dist.h"
#include "train/run_dir.h"

namespace loam {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kReferenceFile = "reference_logps.json";

std::vector<PreferencePair> load_split(const std::string& uri, const SftConfig& cfg, const ModelText* text,
                                       int32_t vocab, int64_t& n_truncated) {
  DatasetOptions opt;
  opt.vocab_size = vocab;
  Dataset d = dataset_load(uri, opt);  // throws, listing FILE:LINE:FIELD errors
  if (!d.report.task() || *d.report.task() != Task::Preference)
    throw Error(ErrorKind::DataError, uri, "holds no preference pairs",
                "preference tuning needs pairs (input_text/preferred_output/rejected_output, prompt/chosen/rejected, "
                "input.messages/preferred_output/non_preferred_output, contents/completions or prompt_ids/chosen_ids/"
                "rejected_ids); check a file with: loam data validate FILE --task preference");
  std::vector<PreferencePair> out;
  for (const Example& e : d.examples) {
    const std::string where = d.report.path + ":" + std::to_string(e.line);
    if (!text && !format_is_pretokenized(e.format))
      throw Error(ErrorKind::DataError, where,
                  "a text pair needs the model's tokenizer, and " + cfg.job.source_model + " has no tokenizer.json",
                  "add the model's tokenizer files, or use pre-tokenized pairs (prompt_ids, chosen_ids, rejected_ids)");
    TokenizedPreference t;
    try {
      t = text ? preference_tokenize(e, *text, cfg.hyperparameters.max_seq_length)
               : preference_tokenize_ids(e, cfg.hyperparameters.max_seq_length);
    } catch (const Error& err) {
      throw Error(ErrorKind::DataError, where, err.what());
    }
    if (t.truncated) n_truncated++;
    if (t.chosen_ids.empty() || t.rejected_ids.empty()) continue;  // nothing left to compare after truncation
    out.push_back({std::move(t.prompt_ids), std::move(t.chosen_ids), std::move(t.rejected_ids)});
  }
  if (out.empty()) throw Error(ErrorKind::DataError, uri, "no pair has completion tokens to compare");
  return out;
}

// What identifies a model's weights without reading them all: its config
// and each weight file's name and size (a .gguf: its name and size).
std::string model_fingerprint(const std::string& path) {
  std::string s;
  if (fs::is_directory(path)) {
    s = file_sha256(path + "/config.json");
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(path))
      if (e.path().extension() == ".safetensors") files.push_back(e.path().filename().string() + ":" +
                                                                   std::to_string(fs::file_size(e.path())));
    std::sort(files.begin(), files.end());
    for (const std::string& f : files) s += "\n" + f;
  } else {
    s = fs::path(path).filename().string() + ":" + std::to_string(fs::file_size(path));
  }
  return bytes_sha256(s);
}

std::string pairs_bytes(const std::vector<PreferencePair>& pairs) {
  std::string s;
  auto put = [&](const std::vector<int32_t>& v) {
    s.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(int32_t));
    s.push_back('|');
  };
  for (const PreferencePair& p : pairs) {
    put(p.prompt);
    put(p.chosen);
    put(p.rejected);
  }
  return s;
}

// The reference log-probs of every pair: hashes key them to the model, the
// reference adapter and the tokenized pairs.
struct ReferenceLogps {
  std::string key;
  std::vector<PairLogps> train, validation;
};

json logps_json(const std::vector<PairLogps>& v) {
  json a = json::array();
  for (const PairLogps& p : v) a.push_back({p.chosen, p.rejected});
  return a;
}

bool logps_read(const json& a, const std::vector<PreferencePair>& pairs, std::vector<PairLogps>& out) {
  if (!a.is_array() || a.size() != pairs.size()) return false;
  out.resize(pairs.size());
  for (size_t i = 0; i < pairs.size(); i++) {
    out[i].chosen = a[i].at(0).get<double>();
    out[i].rejected = a[i].at(1).get<double>();
    out[i].n_chosen = static_cast<int64_t>(pairs[i].chosen.size());
    out[i].n_rejected = static_cast<int64_t>(pairs[i].rejected.size());
  }
  return true;
}

std::string reference_text(const ReferenceLogps& r) {
  return json{{"key", r.key}, {"train", logps_json(r.train)}, {"validation", logps_json(r.validation)}}.dump() + "\n";
}

// Reads reference_text's text, key included; false when it does not fit the pairs.
bool reference_parse(const std::string& text, const PreferenceData& data, ReferenceLogps& r) {
  try {
    const json j = json::parse(text);
    r.key = j.value("key", "");
    return logps_read(j.at("train"), data.train, r.train) && logps_read(j.at("validation"), data.validation, r.validation);
  } catch (const std::exception&) {
    return false;
  }
}

// Reads a saved file when it holds this key; false otherwise.
bool reference_read(const std::string& path, const PreferenceData& data, ReferenceLogps& r) {
  if (!file_exists(path)) return false;
  ReferenceLogps saved;
  // A damaged cache file is recomputed, not trusted.
  if (!reference_parse(file_read_all(path), data, saved) || saved.key != r.key) return false;
  r = std::move(saved);
  return true;
}

std::vector<PairLogps> logps_all(const Model& m, const LoraAdapter* ref, const std::vector<PreferencePair>& pairs,
                                 int batch, ForwardWorkspace& ws) {
  std::vector<PairLogps> out;
  for (size_t i = 0; i < pairs.size(); i += static_cast<size_t>(batch)) {
    std::vector<int64_t> idx;
    for (size_t k = i; k < std::min(pairs.size(), i + static_cast<size_t>(batch)); k++)
      idx.push_back(static_cast<int64_t>(k));
    for (const PairLogps& p : preference_logps(m, ref, pairs, idx, ws)) out.push_back(p);
  }
  return out;
}

// The step's (or a validation pass's) figures from its pairs: means over
// n_pairs pairs (and n_chosen_tokens tokens), which may be more than these
// (a data-parallel step's share, sft_trainer.h).
ObjectiveStats stats_of(const std::vector<PairLoss>& losses, const std::vector<PairLogps>& policy, double nll_weight,
                        double nll_sum, int64_t n_chosen_tokens, int64_t n_pairs) {
  ObjectiveStats s;
  const double n = static_cast<double>(std::max<int64_t>(1, n_pairs));
  double rc = 0, rr = 0, acc = 0, lc = 0, lr = 0;
  for (size_t k = 0; k < losses.size(); k++) {
    s.loss += losses[k].loss / n;
    rc += losses[k].reward_chosen / n;
    rr += losses[k].reward_rejected / n;
    acc += (losses[k].reward_chosen > losses[k].reward_rejected ? 1.0 : 0.0) / n;
    lc += policy[k].chosen / n;
    lr += policy[k].rejected / n;
  }
  if (nll_weight != 0 && n_chosen_tokens > 0) s.loss += nll_weight * nll_sum / static_cast<double>(n_chosen_tokens);
  s.finite = std::isfinite(s.loss);
  s.accuracy = acc;
  s.metrics = {{"rewards/chosen", rc}, {"rewards/rejected", rr}, {"rewards/margins", rc - rr},
               {"rewards/accuracies", acc}, {"logps/chosen", lc}, {"logps/rejected", lr}};
  return s;
}

}  // namespace

void preference_config_check(const PreferenceConfig& c) {
  sft_config_check(c.sft);
  const PreferenceLossConfig& l = c.preference.loss;
  if (!(l.beta > 0) || !std::isfinite(l.beta)) throw Error("preference.beta", "must be > 0");
  if (!(l.label_smoothing >= 0 && l.label_smoothing < 0.5))
    throw Error("preference.label_smoothing", "must be in [0, 0.5)");
  if (!(l.sft_weight >= 0) || !std::isfinite(l.sft_weight)) throw Error("preference.sft_weight", "must be >= 0");
  if (!std::isfinite(l.simpo_gamma)) throw Error("preference.simpo_gamma", "must be a number");
  if (c.preference.reference == "init" && c.sft.job.init_adapter.empty())
    throw Error("preference.reference", "init needs job.init_adapter (the adapter the policy starts from)",
                "pass job.init_adapter, or use the base model as the reference");
  const std::string r = c.preference.reference;
  if (!r.empty() && r != "init" && r != "base" && !file_exists(r + "/adapter_config.json"))
    throw Error(ErrorKind::NotFound, "preference.reference",
                r + " is neither base, init nor a PEFT adapter directory (adapter_config.json is missing)");
}

std::string preference_reference(const PreferenceConfig& c) {
  if (!c.preference.reference.empty()) return c.preference.reference;
  return c.sft.job.init_adapter.empty() ? "base" : "init";
}

PreferenceData preference_data_load(const SftConfig& cfg, const ModelText* text, int32_t vocab) {
  PreferenceData d;
  d.train = load_split(cfg.job.train, cfg, text, vocab, d.n_truncated);
  int64_t ignored = 0;
  if (!cfg.job.validation.empty()) d.validation = load_split(cfg.job.validation, cfg, text, vocab, ignored);
  return d;
}

SftPlan preference_plan(const Model& m, const PreferenceData& data, const PreferenceConfig& cfg) {
  std::vector<int64_t> tokens;
  int64_t scored = 0;
  for (const PreferencePair& p : data.train) {
    tokens.push_back(p.tokens());
    scored += static_cast<int64_t>(p.chosen.size() + p.rejected.size());
  }
  return train_plan(m, tokens, scored, static_cast<int64_t>(data.validation.size()), cfg.sft);
}

SftResult preference_train(const Model& m, const PreferenceData& data, const PreferenceConfig& cfg,
                           const SftFormat& format, const TrainCallbacks& cb) {
  // Data parallel (train/dist.h): rank 0 checks the files, reads or
  // computes the reference log-probs and sends them to the other ranks.
  const bool leader = dist_rank() == 0;
  if (leader) preference_config_check(cfg);
  else sft_config_check(cfg.sft);
  if (data.train.empty()) throw Error(ErrorKind::DataError, cfg.sft.job.train, "no training pairs");
  const PreferenceLossConfig& lc = cfg.preference.loss;
  const std::string reference = preference_reference(cfg);
  const bool needs_ref = preference_loss_needs_reference(lc.type);
  auto log = [&](const std::string& s) {
    if (cb.on_log) cb.on_log(s);
  };

  // 1. Reference log-probs: from the checkpoint being resumed, the disk
  //    cache, or one forward pass over every pair.
  auto ref = std::make_shared<ReferenceLogps>();
  if (needs_ref && !leader) {
    std::string text;
    dist_broadcast(text, "the reference log-probs from rank 0", /*setup=*/true);
    if (!reference_parse(text, data, *ref))
      throw Error(ErrorKind::Internal, "preference.reference", "rank 0's reference log-probs do not match the pairs");
  } else if (needs_ref) {
    const std::string ref_dir = reference == "init" ? cfg.sft.job.init_adapter : reference == "base" ? "" : reference;
    std::string key = "model " + model_fingerprint(cfg.sft.job.source_model) + "\nreference ";
    key += ref_dir.empty() ? "base" : file_sha256(ref_dir + "/adapter_model.safetensors") + " " +
                                          file_sha256(ref_dir + "/adapter_config.json");
    key += "\ntrain " + bytes_sha256(pairs_bytes(data.train)) + "\nvalidation " +
           bytes_sha256(pairs_bytes(data.validation));
    ref->key = bytes_sha256(key);
    const std::string cache_path =
        cfg.preference.cache_dir.empty() ? "" : cfg.preference.cache_dir + "/" + ref->key + ".json";
    const std::string resume_file =
        cfg.sft.job.resume.empty() ? "" : sft_resume_checkpoint(cfg.sft.job.resume) + "/" + kReferenceFile;
    if (!resume_file.empty() && reference_read(resume_file, data, *ref)) {
      log("reference log-probs from the checkpoint");
    } else if (!cache_path.empty() && reference_read(cache_path, data, *ref)) {
      log("reference log-probs from the cache " + cache_path);
    } else {
      LoraAdapter frozen;
      if (!ref_dir.empty()) {
        try {
          frozen = lora_load(ref_dir, m.config);
        } catch (const Error& e) {
          throw Error(e.kind(), "preference.reference", e.where() + ": " + e.message(), e.hint());
        }
      }
      ForwardWorkspace ws;
      const int batch = cfg.sft.hyperparameters.batch_size;
      ref->train = logps_all(m, ref_dir.empty() ? nullptr : &frozen, data.train, batch, ws);
      ref->validation = logps_all(m, ref_dir.empty() ? nullptr : &frozen, data.validation, batch, ws);
      log("reference log-probs computed (" + reference + ", " +
          std::to_string(data.train.size() + data.validation.size()) + " pairs)");
      if (!cache_path.empty()) {
        fs::create_directories(cfg.preference.cache_dir);
        file_write_atomic(cache_path, reference_text(*ref));
      }
    }
    std::string text = dist_world_size() > 1 ? reference_text(*ref) : std::string();
    dist_broadcast(text, "the reference log-probs from rank 0", /*setup=*/true);
  }

  // 2. The objective: each micro-batch's pairs through preference_step.
  auto ws = std::make_shared<ForwardWorkspace>();
  const double nll_weight = lc.sft_weight + (lc.type == PreferenceLossType::Orpo ? 1.0 : 0.0);
  TrainObjective o;
  for (const PreferencePair& p : data.train) o.train_tokens.push_back(p.tokens());
  TrainStepOptions step_opt;
  step_opt.dropout = cfg.sft.lora.dropout;
  step_opt.gradient_checkpointing = cfg.sft.runtime.gradient_checkpointing;
  o.step = [&m, &data, lc, ref, ws, step_opt, nll_weight](const std::vector<std::vector<int64_t>>& mbs, size_t begin,
                                                          size_t end, const LoraAdapter& lora, LoraAdapter& grads,
                                                          uint64_t step_seed) mutable {
    int64_t n_pairs = 0, n_chosen = 0, tokens = 0;  // pairs and chosen tokens: the whole step's
    for (size_t k = 0; k < mbs.size(); k++)
      for (int64_t i : mbs[k]) {
        n_pairs++;
        n_chosen += static_cast<int64_t>(data.train[i].chosen.size());
        if (k >= begin && k < end) tokens += data.train[i].tokens();
      }
    std::vector<PairLoss> losses;
    std::vector<PairLogps> policy;
    double nll_sum = 0;
    for (size_t k = begin; k < end; k++) {
      std::vector<PairLogps> mb_ref;
      if (!ref->train.empty())
        for (int64_t i : mbs[k]) mb_ref.push_back(ref->train[i]);
      step_opt.dropout_seed = train_seed_mix(step_seed, k);
      const PreferenceStepStats s = preference_step(m, lora, grads, data.train, mbs[k], mb_ref, lc,
                                                    1.0 / static_cast<double>(n_pairs),
                                                    1.0 / static_cast<double>(n_chosen), step_opt, *ws);
      losses.insert(losses.end(), s.losses.begin(), s.losses.end());
      policy.insert(policy.end(), s.policy.begin(), s.policy.end());
      nll_sum += s.nll_sum;
    }
    ObjectiveStats st = stats_of(losses, policy, nll_weight, nll_sum, n_chosen, n_pairs);
    st.tokens = tokens;
    return st;
  };
  if (!data.validation.empty())
    o.evaluate = [&m, &data, &cfg, lc, ref, ws, nll_weight](const LoraAdapter& lora) {
      const std::vector<PairLogps> policy =
          logps_all(m, &lora, data.validation, cfg.sft.hyperparameters.batch_size, *ws);
      std::vector<PairLoss> losses;
      double nll_sum = 0;
      int64_t n_chosen = 0;
      for (size_t i = 0; i < policy.size(); i++) {
        losses.push_back(preference_pair_loss(lc, policy[i], ref->validation.empty() ? PairLogps{} : ref->validation[i]));
        nll_sum -= policy[i].chosen;
        n_chosen += policy[i].n_chosen;
      }
      return stats_of(losses, policy, nll_weight, nll_sum, n_chosen, static_cast<int64_t>(losses.size()));
    };

  // 3. The shared loop and run directory.
  TrainRunExtras extras;
  extras.n_truncated = data.n_truncated;
  extras.objective_config = {{"type", "preference"},           {"loss", preference_loss_name(lc.type)},
                             {"beta", lc.beta},                {"label_smoothing", lc.label_smoothing},
                             {"sft_weight", lc.sft_weight},    {"simpo_gamma", lc.simpo_gamma},
                             {"reference", needs_ref ? reference : "none"}, {"reference_key", ref->key}};
  if (needs_ref) extras.checkpoint_files.push_back({kReferenceFile, reference_text(*ref)});
  return train_run(m, o, preference_plan(m, data, cfg), cfg.sft, format, extras, cb);
}

}  // namespace loam
