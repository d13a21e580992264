#include "train/sft_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.h"
#include "core/file_io.h"
#include "core/system.h"
#include "kernels/threading.h"
#include "model/lora.h"
#include "model/lora_gguf.h"
#include "model/transformer_train.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"

namespace loam {

namespace fs = std::filesystem;

const char* train_status_name(TrainStatus s) {
  switch (s) {
    case TrainStatus::Completed: return "completed";
    case TrainStatus::EarlyStopped: return "early_stopped";
    case TrainStatus::Interrupted: return "interrupted";
  }
  return "?";
}

namespace {

using MicroBatch = std::vector<int64_t>;  // example indices

uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t x = a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ULL;
  return x ^ (x >> 29);
}

int64_t scored_of(const SftSequence& s) {
  int64_t n = 0;
  for (size_t i = 1; i < s.labels.size(); i++) n += s.labels[i] != kIgnoreIndex;
  return n;
}

// The micro-batches of one epoch: a seeded shuffle, then either fixed-size
// groups of examples or (packing) greedy bins up to a token budget.
std::vector<MicroBatch> epoch_batches(const std::vector<SftSequence>& data, const SftConfig& cfg, int epoch,
                                      bool shuffle) {
  std::vector<int64_t> order(data.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = static_cast<int64_t>(i);
  if (shuffle) {
    std::mt19937_64 rng(mix(cfg.seed, static_cast<uint64_t>(epoch) + 1));
    for (size_t i = order.size(); i > 1; i--) {  // Fisher-Yates with our own draw: portable across libraries
      size_t j = static_cast<size_t>(rng() % i);
      std::swap(order[i - 1], order[j]);
    }
  }
  std::vector<MicroBatch> out;
  const int64_t budget = static_cast<int64_t>(cfg.batch_size) * cfg.max_seq_length;
  MicroBatch cur;
  int64_t cur_tokens = 0;
  for (int64_t idx : order) {
    const int64_t n = static_cast<int64_t>(data[idx].input_ids.size());
    const bool full = cfg.packing ? (cur_tokens + n > budget && !cur.empty())
                                  : static_cast<int>(cur.size()) == cfg.batch_size;
    if (full) {
      out.push_back(std::move(cur));
      cur.clear();
      cur_tokens = 0;
    }
    cur.push_back(idx);
    cur_tokens += n;
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

TrainBatch make_batch(const std::vector<SftSequence>& data, const MicroBatch& mb) {
  TrainBatch b;
  for (int64_t idx : mb) {
    const SftSequence& s = data[idx];
    std::vector<int32_t> targets(s.input_ids.size(), kIgnoreIndex);
    for (size_t t = 0; t + 1 < s.input_ids.size(); t++) targets[t] = s.labels[t + 1];
    b.append(s.input_ids, targets);
  }
  return b;
}

struct EvalResult {
  double loss = 0, accuracy = 0;
};

EvalResult evaluate(const Model& m, const LoraAdapter& lora, const std::vector<SftSequence>& data,
                    const SftConfig& cfg, TrainWorkspace& ws) {
  LossStats total;
  for (const MicroBatch& mb : epoch_batches(data, cfg, 0, /*shuffle=*/false)) {
    LossStats s = model_eval_loss(m, &lora, make_batch(data, mb), &ws);
    total.loss_sum += s.loss_sum;
    total.n_scored += s.n_scored;
    total.n_correct += s.n_correct;
  }
  if (total.n_scored == 0) return {};
  return {total.loss_sum / static_cast<double>(total.n_scored),
          static_cast<double>(total.n_correct) / static_cast<double>(total.n_scored)};
}

int64_t lora_param_count(const ModelConfig& c, const LoraConfig& lc) {
  int64_t n = 0;
  for (int t = 0; t < kLoraTargets; t++)
    if (lc.targets[t]) {
      auto [in, out] = lora_target_dims(c, static_cast<LoraTarget>(t));
      n += static_cast<int64_t>(lc.rank) * (in + out);
    }
  return n * c.n_layers;
}

nlohmann::json config_json(const SftConfig& c) {
  return {{"source_model", c.source_model}, {"train", c.train_path}, {"validation", c.validation_path},
          {"epochs", c.epochs}, {"adapter_size", c.adapter_size}, {"lora_alpha", c.lora_alpha},
          {"lora_dropout", c.lora_dropout}, {"use_rslora", c.use_rslora}, {"target_modules", c.target_modules},
          {"learning_rate", c.learning_rate}, {"learning_rate_multiplier", c.learning_rate_multiplier},
          {"batch_size", c.batch_size}, {"gradient_accumulation_steps", c.gradient_accumulation_steps},
          {"max_seq_length", c.max_seq_length}, {"warmup_ratio", c.warmup_ratio},
          {"lr_scheduler", lr_schedule_name(c.lr_scheduler)}, {"weight_decay", c.weight_decay},
          {"max_grad_norm", c.max_grad_norm}, {"eval_steps", c.eval_steps}, {"save_steps", c.save_steps}, {"save_total_limit", c.save_total_limit},
          {"early_stopping_patience", c.early_stopping_patience}, {"seed", c.seed}, {"max_steps", c.max_steps},
          {"init_adapter", c.init_adapter}, {"gradient_checkpointing", c.gradient_checkpointing},
          {"packing", c.packing}, {"precision", c.precision}, {"display_name", c.display_name}};
}

// Keeps metrics.jsonl lines up to `step` (a resumed run rewrites the rest).
void metrics_truncate(const std::string& path, int64_t step) {
  if (!file_exists(path)) return;
  std::ifstream in(path);
  std::string line, kept;
  while (std::getline(in, line)) {
    try {
      if (nlohmann::json::parse(line).at("step").get<int64_t>() <= step) kept += line + "\n";
    } catch (const std::exception&) {
      break;  // a torn last line from a crash
    }
  }
  file_write_atomic(path, kept);
}

// Keeps the `keep` newest step-N checkpoints (0 = all); the one just written
// is always among them.
void checkpoints_prune(const std::string& dir, int keep) {
  if (keep <= 0) return;
  std::vector<std::pair<int64_t, fs::path>> found;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (!e.is_directory() || name.rfind("step-", 0) != 0 || name.find(".tmp") != std::string::npos) continue;
    try {
      found.emplace_back(std::stoll(name.substr(5)), e.path());
    } catch (const std::exception&) {
    }
  }
  std::sort(found.begin(), found.end());
  std::error_code ec;
  for (size_t i = 0; i + static_cast<size_t>(keep) < found.size(); i++) fs::remove_all(found[i].second, ec);
}

}  // namespace

SftPlan sft_plan(const Model& m, const SftData& data, const SftConfig& cfg) {
  const ModelConfig& c = m.config;
  SftPlan p;
  p.n_train = static_cast<int64_t>(data.train.size());
  p.n_validation = static_cast<int64_t>(data.validation.size());
  for (const auto& s : data.train) {
    p.train_tokens += static_cast<int64_t>(s.input_ids.size());
    p.scored_tokens += scored_of(s);
  }
  p.epochs = sft_epochs(cfg, p.n_train);
  const auto batches = epoch_batches(data.train, cfg, 0, false);
  for (const auto& mb : batches) {
    int64_t n = 0;
    for (int64_t i : mb) n += static_cast<int64_t>(data.train[i].input_ids.size());
    p.max_batch_tokens = std::max(p.max_batch_tokens, n);
  }
  p.steps_per_epoch = (static_cast<int64_t>(batches.size()) + cfg.gradient_accumulation_steps - 1) /
                      cfg.gradient_accumulation_steps;
  p.total_steps = p.steps_per_epoch * p.epochs;
  if (cfg.max_steps > 0) p.total_steps = std::min(p.total_steps, cfg.max_steps);
  p.warmup_steps = static_cast<int64_t>(std::ceil(cfg.warmup_ratio * static_cast<double>(p.total_steps)));
  p.learning_rate = sft_learning_rate(cfg);
  // Memory: mapped weights + saved activations of the largest micro-batch +
  // LoRA params/grads/Adam moments + the chunked LM head + a fixed overhead.
  const int64_t H = c.hidden, I = c.intermediate, Q = c.q_dim(), KV = c.kv_dim();
  const LoraConfig lc = sft_lora_config(cfg);
  const int64_t per_layer_token = 4 * (9 * H + 3 * I + 3 * Q + 3 * KV + 2 * c.n_heads + 14 * lc.rank);
  const int64_t act = cfg.gradient_checkpointing
                          ? 4 * H * c.n_layers * p.max_batch_tokens + per_layer_token * p.max_batch_tokens
                          : per_layer_token * c.n_layers * p.max_batch_tokens;
  const int64_t head_rows = std::min(loss_head_chunk_rows(c.vocab), p.max_batch_tokens);
  const int64_t work = 4 * p.max_batch_tokens * (4 * H + 2 * I) + 4 * head_rows * (static_cast<int64_t>(c.vocab) + 2 * H);
  p.peak_memory_bytes = model_weight_bytes(m) + act + work + 4 * 4 * lora_param_count(c, lc) + (200 << 20);
  // Time: about 4 FLOPs per matmul parameter per token (forward and backward
  // to activations; no base-weight gradients) at a rate a little under what
  // train_step_bench measures on 2 Zen 4 cores (SmolLM2-135M shape: 124
  // GFLOP/s exact, 194 bf16; docs/PERFORMANCE.md), scaled by the threads.
  const double flops_per_token = 4.0 * static_cast<double>(model_param_count(m));
  const double flops_per_s = (cfg.precision == "bf16" ? 160e9 : 100e9) * kernels_threads() / 2.0;
  const double tokens = static_cast<double>(p.train_tokens) * p.epochs *
                        (static_cast<double>(p.total_steps) / std::max<int64_t>(1, p.steps_per_epoch * p.epochs));
  p.estimated_seconds = tokens * flops_per_token / flops_per_s;
  return p;
}

void sft_check_memory(const SftPlan& plan, const SftConfig& cfg, int64_t limit_bytes) {
  if (limit_bytes <= 0 || plan.peak_memory_bytes <= limit_bytes) return;
  const std::string limit = human_bytes(limit_bytes) + (cfg.max_memory_bytes > 0 ? " (--max-memory)" : " available");
  std::string hint = "to need less: ";
  if (!cfg.gradient_checkpointing) hint += "--gradient-checkpointing, ";
  hint += "a shorter --max-seq-length (now " + std::to_string(cfg.max_seq_length) + ")";
  if (cfg.batch_size > 1) hint += ", a smaller --batch-size (now " + std::to_string(cfg.batch_size) + ")";
  if (cfg.packing) hint += ", or no --packing";
  throw Error(ErrorKind::ResourceExhausted, "tune sft",
              "the run needs about " + human_bytes(plan.peak_memory_bytes) + " of memory (largest micro-batch " +
                  std::to_string(plan.max_batch_tokens) + " tokens) but the limit is " + limit,
              hint);
}

SftResult sft_train(const Model& m, const SftData& data, const SftConfig& cfg, const SftFormat& format,
                    const TrainCallbacks& cb) {
  using clock = std::chrono::steady_clock;
  sft_config_check(cfg);
  if (data.train.empty()) throw Error(ErrorKind::DataError, cfg.train_path, "no training examples");
  const ModelConfig& c = m.config;
  const SftPlan plan = sft_plan(m, data, cfg);
  const std::string out = cfg.output_dir;
  fs::create_directories(out + "/checkpoints");
  auto log = [&](const std::string& s) {
    if (cb.on_log) cb.on_log(s);
  };

  // --- state: fresh, continued from an adapter, or resumed from a checkpoint ---
  LoraConfig lc = sft_lora_config(cfg);
  LoraAdapter lora;
  AdamWState opt;
  TrainState st;
  st.seed = cfg.seed;
  if (!cfg.resume.empty()) {
    checkpoint_load(cfg.resume, c, lora, opt, st);
    if (st.seed != cfg.seed) throw Error(ErrorKind::FailedPrecondition, "--seed", "differs from the checkpoint's seed (" + std::to_string(st.seed) + ")");
    log("resumed from " + cfg.resume + " at step " + std::to_string(st.global_step));
  } else {
    if (!cfg.init_adapter.empty()) {
      lora = lora_load(cfg.init_adapter, c);
      lora.config.dropout = lc.dropout;
      log("continuing from adapter " + cfg.init_adapter + " (rank " + std::to_string(lora.config.rank) + ")");
    } else {
      lora = lora_init(c, lc, mix(cfg.seed, 0xada9));
    }
    opt = adamw_init(lora);
  }
  // What a user (or `loam merge`) can resolve later from anywhere: the
  // absolute path, not the path as typed relative to the working directory.
  lora.config.base_model = std::filesystem::absolute(cfg.source_model).lexically_normal().string();
  if (lora.config.base_model.size() > 1 && lora.config.base_model.back() == '/') lora.config.base_model.pop_back();
  const std::string metrics_path = out + "/metrics.jsonl";
  if (!cfg.resume.empty()) metrics_truncate(metrics_path, st.global_step);
  else file_write_atomic(metrics_path, "");
  std::FILE* metrics = std::fopen(metrics_path.c_str(), "ab");
  if (!metrics) throw Error(ErrorKind::Internal, metrics_path, "cannot open for writing");
  struct Closer {
    std::FILE* f;
    ~Closer() { std::fclose(f); }
  } closer{metrics};

  const AdamWConfig adam{0.9f, 0.999f, 1e-8f, cfg.weight_decay};
  const nlohmann::json run_cfg = config_json(cfg);
  LoraAdapter grads = lora_zeros_like(lora);
  TrainWorkspace workspace;  // activations reused from step to step
  SftResult res;
  res.output_dir = out;
  auto save_checkpoint = [&](const char* why) {
    const std::string dir = out + "/checkpoints/step-" + std::to_string(st.global_step);
    checkpoint_save(dir, lora, opt, st, run_cfg);
    file_write_atomic(out + "/checkpoints/latest", dir + "\n");
    res.last_checkpoint = dir;
    checkpoints_prune(out + "/checkpoints", cfg.save_total_limit);
    log(std::string("checkpoint ") + dir + " (" + why + ")");
  };
  // Returns true when early stopping triggers.
  auto run_eval = [&](TrainProgress& p) {
    if (data.validation.empty()) return false;
    EvalResult e = evaluate(m, lora, data.validation, cfg, workspace);
    p.val_loss = e.loss;
    p.val_token_accuracy = e.accuracy;
    if (st.best_step < 0 || e.loss < st.best_val_loss) {
      st.best_val_loss = e.loss;
      st.best_step = st.global_step;
      st.evals_without_improvement = 0;
      lora_save(out + "/best", lora);
      log("validation loss " + std::to_string(e.loss) + " (best so far, saved to " + out + "/best)");
    } else {
      st.evals_without_improvement++;
      log("validation loss " + std::to_string(e.loss) + " (best " + std::to_string(st.best_val_loss) + " at step " +
          std::to_string(st.best_step) + ")");
    }
    return cfg.early_stopping_patience > 0 && st.evals_without_improvement >= cfg.early_stopping_patience;
  };

  const auto t_start = clock::now();
  const float base_lr = plan.learning_rate;
  bool stop_early = false;
  TrainStepOptions step_opt;
  step_opt.dropout = lc.dropout;
  step_opt.gradient_checkpointing = cfg.gradient_checkpointing;
  for (; st.epoch < plan.epochs && !stop_early; st.epoch++, st.step_in_epoch = 0) {
    const std::vector<MicroBatch> batches = epoch_batches(data.train, cfg, st.epoch, /*shuffle=*/true);
    const int64_t accum = cfg.gradient_accumulation_steps;
    const int64_t steps = (static_cast<int64_t>(batches.size()) + accum - 1) / accum;
    for (; st.step_in_epoch < steps; ) {
      if (st.global_step >= plan.total_steps) break;
      if (cb.stop && cb.stop->load()) {
        save_checkpoint("interrupted");
        res.status = TrainStatus::Interrupted;
        res.steps = st.global_step;
        return res;
      }
      // 1. The optimizer step's micro-batches and its scored-token count.
      const auto t0 = clock::now();
      const int64_t first = st.step_in_epoch * accum;
      const int64_t last = std::min<int64_t>(first + accum, static_cast<int64_t>(batches.size()));
      std::vector<TrainBatch> mbs;
      int64_t scored = 0, tokens = 0;
      for (int64_t i = first; i < last; i++) {
        mbs.push_back(make_batch(data.train, batches[i]));
        for (int32_t t : mbs.back().targets) scored += t != kIgnoreIndex;
        tokens += mbs.back().size();
      }
      // 2. Forward + backward over each micro-batch; gradients accumulate as
      //    those of the mean cross-entropy over the whole step.
      for (auto& g : grads.layers)
        for (auto& mm : g) {
          std::fill(mm.a.begin(), mm.a.end(), 0.0f);
          std::fill(mm.b.begin(), mm.b.end(), 0.0f);
        }
      LossStats step_stats;
      for (size_t i = 0; i < mbs.size(); i++) {
        step_opt.dropout_seed = mix(mix(cfg.seed, static_cast<uint64_t>(st.global_step) + 1), i);
        LossStats s = model_train_step(m, lora, grads, mbs[i], scored > 0 ? 1.0f / static_cast<float>(scored) : 0.0f,
                                       step_opt, &workspace);
        step_stats.loss_sum += s.loss_sum;
        step_stats.n_scored += s.n_scored;
        step_stats.n_correct += s.n_correct;
      }
      // 3. Clip, schedule, AdamW.
      const double norm = grad_clip(grads, cfg.max_grad_norm);
      const float lr = static_cast<float>(base_lr * lr_multiplier(cfg.lr_scheduler, st.global_step, plan.total_steps,
                                                                  plan.warmup_steps));
      adamw_step(lora, grads, opt, adam, lr);
      st.global_step++;
      st.step_in_epoch++;
      // 4. Log, evaluate, checkpoint.
      const double dt = std::chrono::duration<double>(clock::now() - t0).count();
      TrainProgress p;
      p.step = st.global_step;
      p.total_steps = plan.total_steps;
      p.epoch = st.epoch + 1;
      p.epoch_progress = st.epoch + static_cast<double>(st.step_in_epoch) / static_cast<double>(steps);
      p.loss = step_stats.n_scored ? step_stats.loss_sum / static_cast<double>(step_stats.n_scored) : 0.0;
      p.token_accuracy = step_stats.n_scored ? static_cast<double>(step_stats.n_correct) / step_stats.n_scored : 0.0;
      p.learning_rate = lr;
      p.grad_norm = norm;
      p.tokens_per_s = dt > 0 ? static_cast<double>(tokens) / dt : 0.0;
      p.elapsed_s = std::chrono::duration<double>(clock::now() - t_start).count();
      const bool epoch_end = st.step_in_epoch == steps || st.global_step == plan.total_steps;
      if ((cfg.eval_steps > 0 && st.global_step % cfg.eval_steps == 0) || epoch_end) stop_early = run_eval(p);
      res.final_loss = p.loss;
      nlohmann::json line = {{"step", p.step}, {"epoch", p.epoch_progress}, {"learning_rate", p.learning_rate},
                             {"loss", p.loss}, {"token_accuracy", p.token_accuracy}, {"grad_norm", p.grad_norm},
                             {"tokens", tokens}, {"tokens_per_s", p.tokens_per_s}};
      if (p.val_loss) {
        line["val_loss"] = *p.val_loss;
        line["val_token_accuracy"] = *p.val_token_accuracy;
      }
      std::string text = line.dump() + "\n";
      std::fwrite(text.data(), 1, text.size(), metrics);
      std::fflush(metrics);
      const double per_step = p.elapsed_s / std::max<int64_t>(1, st.global_step);
      p.eta_s = per_step * static_cast<double>(plan.total_steps - st.global_step);
      if (cb.on_step) cb.on_step(p);
      if ((cfg.save_steps > 0 && st.global_step % cfg.save_steps == 0) || epoch_end || stop_early) {
        if (epoch_end) {  // the checkpoint resumes at the start of the next epoch
          st.epoch++;
          st.step_in_epoch = 0;
          save_checkpoint(stop_early ? "early stop" : "epoch end");
          st.epoch--;
          st.step_in_epoch = steps;
        } else {
          save_checkpoint(stop_early ? "early stop" : "save steps");
        }
      }
      if (stop_early) {
        log("early stopping: no improvement in " + std::to_string(cfg.early_stopping_patience) + " evaluations");
        break;
      }
    }
    if (st.global_step >= plan.total_steps) {
      st.epoch++;
      break;
    }
  }

  // --- outputs: adapter (PEFT + GGUF), formatting for serving, summary ---
  lora_save(out, lora);
  adapter_gguf_write(out + "/adapter.gguf", lora, c);
  nlohmann::json fmt = {{"chat_template", format.chat_template}, {"eos_token_ids", format.eos_ids},
                        {"bos_token", format.bos_token}, {"eos_token", format.eos_token},
                        {"base_model", cfg.source_model}};
  file_write_atomic(out + "/training_format.json", fmt.dump(2) + "\n");
  if (!format.chat_template.empty()) file_write_atomic(out + "/chat_template.jinja", format.chat_template);
  res.status = stop_early ? TrainStatus::EarlyStopped : TrainStatus::Completed;
  res.steps = st.global_step;
  if (st.best_step >= 0) {
    res.best_val_loss = st.best_val_loss;
    res.best_step = st.best_step;
  }
  nlohmann::json summary = {
      {"status", train_status_name(res.status)}, {"display_name", cfg.display_name}, {"steps", res.steps},
      {"epochs", plan.epochs}, {"train_examples", plan.n_train}, {"validation_examples", plan.n_validation},
      {"truncated_examples", data.n_truncated}, {"train_tokens", plan.train_tokens},
      {"scored_tokens", plan.scored_tokens}, {"final_loss", res.final_loss},
      {"best_val_loss", res.best_val_loss ? nlohmann::json(*res.best_val_loss) : nlohmann::json(nullptr)},
      {"best_step", res.best_step}, {"learning_rate", plan.learning_rate},
      {"seconds", std::chrono::duration<double>(clock::now() - t_start).count()},
      {"estimated_peak_memory_bytes", plan.peak_memory_bytes}, {"peak_rss_bytes", process_peak_rss()},
      {"config", run_cfg},
  };
  file_write_atomic(out + "/summary.json", summary.dump(2) + "\n");
  return res;
}

}  // namespace loam
