// The messages of a data-parallel run (see dist_share.h): plain bytes.
#include "train/dist_share.h"

#include <cstring>
#include <filesystem>
#include <type_traits>

#include "core/error.h"
#include "kernels/matmul.h"
#include "model/model.h"
#include "train/dist.h"

namespace loam {
namespace {

using nlohmann::json;

class ByteWriter {
 public:
  template <class T>
  void put(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    out_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  template <class T>
  void put_vec(const std::vector<T>& v) {
    put<int64_t>(static_cast<int64_t>(v.size()));
    out_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  void put_str(const std::string& s) {
    put<int64_t>(static_cast<int64_t>(s.size()));
    out_ += s;
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class ByteReader {
 public:
  ByteReader(const std::string& in, const char* what) : in_(in), what_(what) {}
  template <class T>
  T get() {
    T v;
    need(sizeof v);
    std::memcpy(&v, in_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  template <class T>
  std::vector<T> get_vec() {
    const int64_t n = get<int64_t>();
    if (n < 0) bad();
    need(static_cast<size_t>(n) * sizeof(T));
    std::vector<T> v(static_cast<size_t>(n));
    std::memcpy(v.data(), in_.data() + pos_, v.size() * sizeof(T));
    pos_ += v.size() * sizeof(T);
    return v;
  }
  std::string get_str() {
    const int64_t n = get<int64_t>();
    if (n < 0) bad();
    need(static_cast<size_t>(n));
    std::string s = in_.substr(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return s;
  }
  void end() const {
    if (pos_ != in_.size()) bad();
  }

 private:
  void need(size_t n) const {
    if (in_.size() - pos_ < n) bad();
  }
  [[noreturn]] void bad() const {
    throw Error(ErrorKind::Internal, what_, "a message from rank 0 is malformed (ranks running different builds?)");
  }
  const std::string& in_;
  const char* what_;
  size_t pos_ = 0;
};

// The run configuration on the wire: every field of SftConfig.
json config_json(const SftConfig& c) {
  const SftHyperparameters& h = c.hyperparameters;
  json j = {{"source_model", c.job.source_model}, {"train", c.job.train}, {"validation", c.job.validation},
            {"output", c.job.output}, {"display_name", c.job.display_name}, {"init_adapter", c.job.init_adapter},
            {"resume", c.job.resume}, {"overwrite_output", c.job.overwrite_output},
            {"resume_allow", c.job.resume_allow},
            {"rank", c.lora.rank}, {"dropout", c.lora.dropout}, {"use_rslora", c.lora.use_rslora},
            {"target_modules", c.lora.target_modules},
            {"learning_rate_multiplier", h.learning_rate_multiplier}, {"batch_size", h.batch_size},
            {"gradient_accumulation_steps", h.gradient_accumulation_steps}, {"max_seq_length", h.max_seq_length},
            {"warmup_ratio", h.warmup_ratio}, {"lr_scheduler", lr_schedule_name(h.lr_scheduler)},
            {"weight_decay", h.weight_decay}, {"max_grad_norm", h.max_grad_norm}, {"eval_steps", h.eval_steps},
            {"save_steps", h.save_steps}, {"save_total_limit", h.save_total_limit},
            {"early_stopping_patience", h.early_stopping_patience}, {"seed", h.seed}, {"packing", h.packing},
            {"precision", c.runtime.precision}, {"gradient_checkpointing", c.runtime.gradient_checkpointing}};
  if (c.lora.alpha) j["alpha"] = *c.lora.alpha;
  if (h.epochs) j["epochs"] = *h.epochs;
  if (h.learning_rate) j["learning_rate"] = *h.learning_rate;
  if (h.eval_strategy) j["eval_strategy"] = eval_strategy_name(*h.eval_strategy);
  if (h.max_steps) j["max_steps"] = *h.max_steps;
  if (c.runtime.threads) j["threads"] = *c.runtime.threads;
  if (c.runtime.max_memory_bytes) j["max_memory_bytes"] = *c.runtime.max_memory_bytes;
  return j;
}

SftConfig config_parse(const json& j) {
  SftConfig c;
  SftHyperparameters& h = c.hyperparameters;
  c.job.source_model = j.at("source_model");
  c.job.train = j.at("train");
  c.job.validation = j.at("validation");
  c.job.output = j.at("output");
  c.job.display_name = j.at("display_name");
  c.job.init_adapter = j.at("init_adapter");
  c.job.resume = j.at("resume");
  c.job.overwrite_output = j.at("overwrite_output");
  c.job.resume_allow = j.at("resume_allow").get<std::vector<std::string>>();
  c.lora.rank = j.at("rank");
  c.lora.dropout = j.at("dropout");
  c.lora.use_rslora = j.at("use_rslora");
  c.lora.target_modules = j.at("target_modules").get<std::vector<std::string>>();
  if (j.contains("alpha")) c.lora.alpha = j["alpha"].get<float>();
  h.learning_rate_multiplier = j.at("learning_rate_multiplier");
  h.batch_size = j.at("batch_size");
  h.gradient_accumulation_steps = j.at("gradient_accumulation_steps");
  h.max_seq_length = j.at("max_seq_length");
  h.warmup_ratio = j.at("warmup_ratio");
  h.lr_scheduler = lr_schedule_parse(j.at("lr_scheduler").get<std::string>());
  h.weight_decay = j.at("weight_decay");
  h.max_grad_norm = j.at("max_grad_norm");
  h.eval_steps = j.at("eval_steps");
  h.save_steps = j.at("save_steps");
  h.save_total_limit = j.at("save_total_limit");
  h.early_stopping_patience = j.at("early_stopping_patience");
  h.seed = j.at("seed");
  h.packing = j.at("packing");
  if (j.contains("epochs")) h.epochs = j["epochs"].get<int>();
  if (j.contains("learning_rate")) h.learning_rate = j["learning_rate"].get<float>();
  if (j.contains("eval_strategy")) h.eval_strategy = eval_strategy_parse(j["eval_strategy"].get<std::string>());
  if (j.contains("max_steps")) h.max_steps = j["max_steps"].get<int64_t>();
  c.runtime.precision = j.at("precision");
  c.runtime.gradient_checkpointing = j.at("gradient_checkpointing");
  if (j.contains("threads")) c.runtime.threads = j["threads"].get<int>();
  if (j.contains("max_memory_bytes")) c.runtime.max_memory_bytes = j["max_memory_bytes"].get<int64_t>();
  return c;
}

json preference_json(const PreferenceOptions& p) {
  return {{"loss", preference_loss_name(p.loss.type)}, {"beta", p.loss.beta},
          {"label_smoothing", p.loss.label_smoothing}, {"simpo_gamma", p.loss.simpo_gamma},
          {"sft_weight", p.loss.sft_weight}, {"reference", p.reference}};
}

PreferenceOptions preference_parse(const json& j) {
  PreferenceOptions p;
  p.loss.type = preference_loss_parse(j.at("loss").get<std::string>(), "preference.loss");
  p.loss.beta = j.at("beta");
  p.loss.label_smoothing = j.at("label_smoothing");
  p.loss.simpo_gamma = j.at("simpo_gamma");
  p.loss.sft_weight = j.at("sft_weight");
  p.reference = j.at("reference");
  return p;  // no cache_dir: only rank 0 reads or writes the cache
}

void put_sequences(ByteWriter& w, const std::vector<SftSequence>& v) {
  w.put<int64_t>(static_cast<int64_t>(v.size()));
  for (const SftSequence& s : v) {
    w.put_vec(s.input_ids);
    w.put_vec(s.labels);
  }
}

std::vector<SftSequence> get_sequences(ByteReader& r) {
  std::vector<SftSequence> v(static_cast<size_t>(r.get<int64_t>()));
  for (SftSequence& s : v) {
    s.input_ids = r.get_vec<int32_t>();
    s.labels = r.get_vec<int32_t>();
  }
  return v;
}

void put_pairs(ByteWriter& w, const std::vector<PreferencePair>& v) {
  w.put<int64_t>(static_cast<int64_t>(v.size()));
  for (const PreferencePair& p : v) {
    w.put_vec(p.prompt);
    w.put_vec(p.chosen);
    w.put_vec(p.rejected);
  }
}

std::vector<PreferencePair> get_pairs(ByteReader& r) {
  std::vector<PreferencePair> v(static_cast<size_t>(r.get<int64_t>()));
  for (PreferencePair& p : v) {
    p.prompt = r.get_vec<int32_t>();
    p.chosen = r.get_vec<int32_t>();
    p.rejected = r.get_vec<int32_t>();
  }
  return v;
}

}  // namespace

std::string objective_stats_bytes(const ObjectiveStats& s) {
  ByteWriter w;
  w.put(s.loss);
  w.put(s.accuracy);
  w.put(s.tokens);
  w.put<uint8_t>(s.finite ? 1 : 0);
  w.put<int64_t>(static_cast<int64_t>(s.metrics.size()));
  for (const auto& [name, value] : s.metrics) {
    w.put_str(name);
    w.put(value);
  }
  return w.take();
}

ObjectiveStats objective_stats_parse(const std::string& bytes) {
  ByteReader r(bytes, "objective stats");
  ObjectiveStats s;
  s.loss = r.get<double>();
  s.accuracy = r.get<double>();
  s.tokens = r.get<int64_t>();
  s.finite = r.get<uint8_t>() != 0;
  const int64_t n = r.get<int64_t>();
  for (int64_t i = 0; i < n; i++) {
    std::string name = r.get_str();
    s.metrics.emplace_back(std::move(name), r.get<double>());
  }
  r.end();
  return s;
}

std::string train_state_bytes(const LoraAdapter& a, const AdamWState& opt, const TrainState& st, int accum) {
  ByteWriter w;
  w.put(a.config.rank);
  w.put(a.config.alpha);
  w.put(a.config.dropout);
  w.put<uint8_t>(a.config.use_rslora ? 1 : 0);
  for (bool t : a.config.targets) w.put<uint8_t>(t ? 1 : 0);
  w.put<int64_t>(static_cast<int64_t>(a.layers.size()));
  for (const auto& layer : a.layers)
    for (const LoraMatrix& m : layer) {
      w.put(m.in);
      w.put(m.out);
      w.put(m.rank);
      w.put_vec(m.a);
      w.put_vec(m.b);
    }
  w.put(opt.step);
  w.put<int64_t>(static_cast<int64_t>(opt.m.size()));
  for (size_t i = 0; i < opt.m.size(); i++) {
    w.put_vec(opt.m[i]);
    w.put_vec(opt.v[i]);
  }
  w.put(st.global_step);
  w.put(st.epoch);
  w.put(st.step_in_epoch);
  w.put(st.best_val_loss);
  w.put(st.best_step);
  w.put(st.evals_without_improvement);
  w.put(st.seed);
  w.put(accum);
  return w.take();
}

void train_state_parse(const std::string& bytes, LoraAdapter& a, AdamWState& opt, TrainState& st, int& accum) {
  ByteReader r(bytes, "the run's starting state");
  a = LoraAdapter{};
  a.config.rank = r.get<int>();
  a.config.alpha = r.get<float>();
  a.config.dropout = r.get<float>();
  a.config.use_rslora = r.get<uint8_t>() != 0;
  for (bool& t : a.config.targets) t = r.get<uint8_t>() != 0;
  a.layers.resize(static_cast<size_t>(r.get<int64_t>()));
  for (auto& layer : a.layers)
    for (LoraMatrix& m : layer) {
      m.in = r.get<int64_t>();
      m.out = r.get<int64_t>();
      m.rank = r.get<int64_t>();
      m.a = r.get_vec<float>();
      m.b = r.get_vec<float>();
    }
  opt = AdamWState{};
  opt.step = r.get<int64_t>();
  const int64_t n = r.get<int64_t>();
  for (int64_t i = 0; i < n; i++) {
    opt.m.push_back(r.get_vec<float>());
    opt.v.push_back(r.get_vec<float>());
  }
  st.global_step = r.get<int64_t>();
  st.epoch = r.get<int>();
  st.step_in_epoch = r.get<int64_t>();
  st.best_val_loss = r.get<double>();
  st.best_step = r.get<int64_t>();
  st.evals_without_improvement = r.get<int>();
  st.seed = r.get<uint64_t>();
  accum = r.get<int>();
  r.end();
}

void dist_run_share(SftConfig& cfg, std::optional<PreferenceOptions>& preference, SftData& sft, PreferenceData& pairs) {
  if (dist_world_size() <= 1) return;
  std::string bytes;
  if (dist_rank() == 0) {
    SftConfig sent = cfg;  // the base model at the path rank 0 resolved, from any working directory
    sent.job.source_model = std::filesystem::absolute(cfg.job.source_model).lexically_normal().string();
    ByteWriter w;
    w.put_str(config_json(sent).dump());
    w.put_str(preference ? preference_json(*preference).dump() : std::string());
    put_sequences(w, sft.train);
    put_sequences(w, sft.validation);
    w.put(sft.n_truncated);
    put_pairs(w, pairs.train);
    put_pairs(w, pairs.validation);
    w.put(pairs.n_truncated);
    bytes = w.take();
  }
  dist_broadcast(bytes, "the run's configuration and data from rank 0", /*setup=*/true);
  if (dist_rank() == 0) return;
  ByteReader r(bytes, "the run's configuration and data");
  const std::optional<int> own_threads = cfg.runtime.threads;
  cfg = config_parse(json::parse(r.get_str()));
  if (!cfg.runtime.threads) cfg.runtime.threads = own_threads;
  const std::string p = r.get_str();
  preference = p.empty() ? std::nullopt : std::optional<PreferenceOptions>(preference_parse(json::parse(p)));
  sft.train = get_sequences(r);
  sft.validation = get_sequences(r);
  sft.n_truncated = r.get<int64_t>();
  pairs.train = get_pairs(r);
  pairs.validation = get_pairs(r);
  pairs.n_truncated = r.get<int64_t>();
  r.end();
}

SftResult dist_follow(const std::atomic<bool>* stop) {
  SftConfig cfg;
  std::optional<PreferenceOptions> preference;
  SftData sft;
  PreferenceData pairs;
  dist_run_share(cfg, preference, sft, pairs);
  Model m;
  try {
    m = model_load(cfg.job.source_model);
  } catch (const Error& e) {
    throw Error(e.kind(), e.where(), e.message(),
                "every host needs the base model at the path rank 0 loads it from (" + cfg.job.source_model + ")");
  }
  m.compute = {cfg.runtime.precision == "bf16" ? MatmulPrecision::Bf16 : MatmulPrecision::Exact,
               cfg.runtime.threads.value_or(dist_threads_default())};
  if (cfg.runtime.precision == "bf16") model_matrices_to_bf16(m);
  TrainCallbacks cb;
  cb.stop = stop;
  if (preference) return preference_train(m, pairs, PreferenceConfig{cfg, *preference}, SftFormat{}, cb);
  return sft_train(m, sft, cfg, SftFormat{}, cb);
}

}  // namespace loam
