#include "train/sft_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>

#include "core/error.h"
#include "core/file_io.h"
#include "core/system.h"
#include "core/uri.h"
#include "kernels/denormals.h"
#include "kernels/threading.h"
#include "model/lora.h"
#include "model/transformer_train.h"
#include "train/checkpoint.h"
#include "train/data_hash.h"
#include "train/dist.h"
#include "train/dist_share.h"
#include "train/optimizer.h"
#include "train/run_dir.h"

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

uint64_t train_seed_mix(uint64_t a, uint64_t b) {
  uint64_t x = a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ULL;
  return x ^ (x >> 29);
}

namespace {

using MicroBatch = std::vector<int64_t>;  // example indices

uint64_t mix(uint64_t a, uint64_t b) { return train_seed_mix(a, b); }

int64_t scored_of(const SftSequence& s) {
  int64_t n = 0;
  for (size_t i = 1; i < s.labels.size(); i++) n += s.labels[i] != kIgnoreIndex;
  return n;
}

// The micro-batches of one epoch: a seeded shuffle, then either fixed-size
// groups of examples or (packing) greedy bins up to a token budget.
std::vector<MicroBatch> epoch_batches(const std::vector<int64_t>& lengths, const SftConfig& cfg, int epoch,
                                      bool shuffle) {
  std::vector<int64_t> order(lengths.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = static_cast<int64_t>(i);
  if (shuffle) {
    std::mt19937_64 rng(mix(cfg.hyperparameters.seed, static_cast<uint64_t>(epoch) + 1));
    for (size_t i = order.size(); i > 1; i--) {  // Fisher-Yates with our own draw: portable across libraries
      size_t j = static_cast<size_t>(rng() % i);
      std::swap(order[i - 1], order[j]);
    }
  }
  std::vector<MicroBatch> out;
  const int64_t budget = static_cast<int64_t>(cfg.hyperparameters.batch_size) * cfg.hyperparameters.max_seq_length;
  MicroBatch cur;
  int64_t cur_tokens = 0;
  for (int64_t idx : order) {
    const int64_t n = lengths[idx];
    const bool full = cfg.hyperparameters.packing ? (cur_tokens + n > budget && !cur.empty())
                                  : static_cast<int>(cur.size()) == cfg.hyperparameters.batch_size;
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

std::vector<int64_t> lengths_of(const std::vector<SftSequence>& data) {
  std::vector<int64_t> out;
  out.reserve(data.size());
  for (const SftSequence& s : data) out.push_back(static_cast<int64_t>(s.input_ids.size()));
  return out;
}

EvalResult evaluate(const Model& m, const LoraAdapter& lora, const std::vector<SftSequence>& data,
                    const SftConfig& cfg, TrainWorkspace& ws) {
  LossStats total;
  for (const MicroBatch& mb : epoch_batches(lengths_of(data), cfg, 0, /*shuffle=*/false)) {
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

// The plan's optimizer steps when each process runs `accum` micro-batches
// per step (the global batch: accum x world size micro-batches).
void plan_steps(SftPlan& p, const SftConfig& cfg, int accum) {
  p.gradient_accumulation_steps = accum;
  const int64_t per_step = static_cast<int64_t>(accum) * p.world_size;
  p.steps_per_epoch = (p.micro_batches_per_epoch + per_step - 1) / per_step;
  p.total_steps = p.steps_per_epoch * p.epochs;
  if (cfg.hyperparameters.max_steps) p.total_steps = std::min(p.total_steps, *cfg.hyperparameters.max_steps);
  p.warmup_steps = static_cast<int64_t>(std::ceil(cfg.hyperparameters.warmup_ratio * static_cast<double>(p.total_steps)));
}

// Sums the processes' gradients and step stats (shares, sft_trainer.h) so
// that every process holds the step's; `stop` in, whether any process was
// asked to stop out.
void step_allreduce(LoraAdapter& grads, ObjectiveStats& s, bool& stop, int64_t step) {
  int64_t n = 0;
  lora_for_each_tensor(grads, [&](std::vector<float>& g) { n += static_cast<int64_t>(g.size()); });
  std::vector<float> flat;
  flat.reserve(static_cast<size_t>(n));
  lora_for_each_tensor(grads, [&](std::vector<float>& g) { flat.insert(flat.end(), g.begin(), g.end()); });
  dist_allreduce_sum(flat.data(), n, "the gradient all-reduce of step " + std::to_string(step));
  size_t off = 0;
  lora_for_each_tensor(grads, [&](std::vector<float>& g) {
    std::copy(flat.begin() + off, flat.begin() + off + g.size(), g.begin());
    off += g.size();
  });
  std::vector<double> v = {s.loss, s.accuracy, static_cast<double>(s.tokens), s.finite ? 0.0 : 1.0, stop ? 1.0 : 0.0};
  for (const auto& [name, value] : s.metrics) v.push_back(value);
  dist_allreduce_sum(v.data(), static_cast<int64_t>(v.size()), "the stats all-reduce of step " + std::to_string(step));
  s.loss = v[0];
  s.accuracy = v[1];
  s.tokens = static_cast<int64_t>(std::llround(v[2]));
  s.finite = v[3] == 0.0;
  stop = v[4] != 0.0;
  for (size_t i = 0; i < s.metrics.size(); i++) s.metrics[i].second = v[5 + i];
}

// Rank 0's stats on every rank (a validation pass only rank 0 runs).
ObjectiveStats stats_broadcast(const ObjectiveStats& s, const std::string& what) {
  std::string bytes = dist_rank() == 0 ? objective_stats_bytes(s) : std::string();
  dist_broadcast(bytes, what);
  return objective_stats_parse(bytes);
}

}  // namespace

int64_t sft_peak_memory_bytes(const ModelConfig& c, int64_t weight_bytes, int64_t max_batch_tokens,
                              const SftConfig& cfg) {
  // Memory: mapped weights + saved activations of the largest micro-batch +
  // LoRA params/grads/Adam moments + the chunked LM head + a fixed overhead.
  const int64_t H = c.hidden, I = c.intermediate, Q = c.q_dim(), KV = c.kv_dim();
  const LoraConfig lc = sft_lora_config(cfg);
  const int64_t per_layer_token = 4 * (9 * H + 3 * I + 3 * Q + 3 * KV + 2 * c.n_heads + 14 * lc.rank);
  const int64_t act = cfg.runtime.gradient_checkpointing
                          ? 4 * H * c.n_layers * max_batch_tokens + per_layer_token * max_batch_tokens
                          : per_layer_token * c.n_layers * max_batch_tokens;
  const int64_t head_rows = std::min(loss_head_chunk_rows(c.vocab), max_batch_tokens);
  const int64_t work = 4 * max_batch_tokens * (4 * H + 2 * I) + 4 * head_rows * (static_cast<int64_t>(c.vocab) + 2 * H);
  return weight_bytes + act + work + 4 * 4 * lora_param_count(c, lc) + (200 << 20);
}

SftPlan sft_plan(const Model& m, const SftData& data, const SftConfig& cfg) {
  int64_t scored = 0;
  for (const auto& s : data.train) scored += scored_of(s);
  return train_plan(m, lengths_of(data.train), scored, static_cast<int64_t>(data.validation.size()), cfg);
}

SftPlan train_plan(const Model& m, const std::vector<int64_t>& lengths, int64_t scored_tokens, int64_t n_validation,
                   const SftConfig& cfg) {
  const ModelConfig& c = m.config;
  SftPlan p;
  p.n_train = static_cast<int64_t>(lengths.size());
  p.n_validation = n_validation;
  for (int64_t n : lengths) p.train_tokens += n;
  p.scored_tokens = scored_tokens;
  p.epochs = sft_epochs(cfg, p.n_train);
  const auto batches = epoch_batches(lengths, cfg, 0, false);
  for (const auto& mb : batches) {
    int64_t n = 0;
    for (int64_t i : mb) n += lengths[i];
    p.max_batch_tokens = std::max(p.max_batch_tokens, n);
  }
  p.micro_batches_per_epoch = static_cast<int64_t>(batches.size());
  p.world_size = dist_world_size();
  plan_steps(p, cfg, cfg.hyperparameters.gradient_accumulation_steps);
  p.learning_rate = sft_learning_rate(cfg);
  p.peak_memory_bytes = sft_peak_memory_bytes(c, model_weight_bytes(m), p.max_batch_tokens, cfg);
  // Time: about 4 FLOPs per matmul parameter per token (forward and backward
  // to activations; no base-weight gradients) at a rate a little under what
  // train_step_bench measures on 2 Zen 4 cores (SmolLM2-135M shape: 124
  // GFLOP/s exact, 194 bf16; docs/PERFORMANCE.md), scaled by the threads.
  const double flops_per_token = 4.0 * static_cast<double>(model_param_count(m));
  const int threads = m.compute.threads > 0 ? m.compute.threads : kernels_threads();
  const double flops_per_s = (cfg.runtime.precision == "bf16" ? 160e9 : 100e9) * threads / 2.0;
  const double tokens = static_cast<double>(p.train_tokens) * p.epochs *
                        (static_cast<double>(p.total_steps) / std::max<int64_t>(1, p.steps_per_epoch * p.epochs));
  p.estimated_seconds = tokens * flops_per_token / flops_per_s / p.world_size;
  return p;
}

void sft_check_memory(const SftPlan& plan, const SftConfig& cfg, int64_t limit_bytes) {
  if (limit_bytes <= 0 || plan.peak_memory_bytes <= limit_bytes) return;
  const SftHyperparameters& h = cfg.hyperparameters;
  const std::string limit = human_bytes(limit_bytes) + (cfg.runtime.max_memory_bytes ? " (runtime.max_memory)" : " available");
  std::string hint = "to need less: ";
  if (!cfg.runtime.gradient_checkpointing) hint += "runtime.gradient_checkpointing, ";
  hint += "a shorter hyperparameters.max_seq_length (now " + std::to_string(h.max_seq_length) + ")";
  if (h.batch_size > 1) hint += ", a smaller hyperparameters.batch_size (now " + std::to_string(h.batch_size) + ")";
  if (h.packing) hint += ", or no hyperparameters.packing";
  throw Error(ErrorKind::ResourceExhausted, "tune sft",
              "the run needs about " + human_bytes(plan.peak_memory_bytes) + " of memory (largest micro-batch " +
                  std::to_string(plan.max_batch_tokens) + " tokens) but the limit is " + limit,
              hint);
}

namespace {

// SFT's objective: the mean cross-entropy over the step's scored tokens.
TrainObjective sft_objective(const Model& m, const SftData& data, const SftConfig& cfg,
                             std::shared_ptr<TrainWorkspace> workspace) {
  TrainObjective o;
  o.train_tokens = lengths_of(data.train);
  TrainStepOptions step_opt;
  step_opt.dropout = cfg.lora.dropout;
  step_opt.gradient_checkpointing = cfg.runtime.gradient_checkpointing;
  o.step = [&m, &data, step_opt, workspace](const std::vector<MicroBatch>& batches, size_t begin, size_t end,
                                            const LoraAdapter& lora, LoraAdapter& grads, uint64_t step_seed) mutable {
    ObjectiveStats out;
    int64_t scored = 0;  // over the whole step: the mean's denominator on every process
    for (const MicroBatch& mb : batches)
      for (int64_t idx : mb) scored += scored_of(data.train[idx]);
    LossStats step_stats;
    for (size_t i = begin; i < end; i++) {
      const TrainBatch b = make_batch(data.train, batches[i]);
      out.tokens += b.size();
      step_opt.dropout_seed = mix(step_seed, i);
      LossStats s = model_train_step(m, lora, grads, b, scored > 0 ? 1.0f / static_cast<float>(scored) : 0.0f,
                                     step_opt, workspace.get());
      step_stats.loss_sum += s.loss_sum;
      step_stats.n_scored += s.n_scored;
      step_stats.n_correct += s.n_correct;
    }
    out.finite = std::isfinite(step_stats.loss_sum);
    out.loss = scored ? step_stats.loss_sum / static_cast<double>(scored) : 0.0;
    out.accuracy = scored ? static_cast<double>(step_stats.n_correct) / static_cast<double>(scored) : 0.0;
    return out;
  };
  if (!data.validation.empty())
    o.evaluate = [&m, &data, &cfg, workspace](const LoraAdapter& lora) {
      const EvalResult e = evaluate(m, lora, data.validation, cfg, *workspace);
      ObjectiveStats s;
      s.loss = e.loss;
      s.accuracy = e.accuracy;
      return s;
    };
  return o;
}

}  // namespace

SftResult sft_train_loop(const Model& m, const SftData& data, const SftConfig& cfg, LoraAdapter& lora,
                         AdamWState& opt, TrainState& st, const std::vector<const TrainCallbacks*>& sinks,
                         const std::atomic<bool>* stop) {
  const TrainObjective o = sft_objective(m, data, cfg, std::make_shared<TrainWorkspace>());
  return train_loop(m, o, sft_plan(m, data, cfg), cfg, lora, opt, st, sinks, stop);
}

SftResult train_loop(const Model& m, const TrainObjective& objective, const SftPlan& plan, const SftConfig& cfg,
                     LoraAdapter& lora, AdamWState& opt, TrainState& st,
                     const std::vector<const TrainCallbacks*>& sinks, const std::atomic<bool>* stop) {
  using clock = std::chrono::steady_clock;
  const DenormalsFlush flush;  // FTZ|DAZ here and on the kernel threads (kernels/denormals.h)
  const SftHyperparameters& h = cfg.hyperparameters;
  const int world = dist_world_size(), rank = dist_rank();
  const EvalStrategy eval_strategy = sft_eval_strategy(cfg);
  auto log = [&](const std::string& s) {
    for (const TrainCallbacks* cb : sinks)
      if (cb->on_log) cb->on_log(s);
  };
  const AdamWConfig adam{0.9f, 0.999f, 1e-8f, h.weight_decay};
  LoraAdapter grads = lora_zeros_like(lora);
  SftResult res;
  res.output_dir = cfg.job.output;
  auto checkpoint = [&](const std::string& why) {
    TrainCheckpoint c;
    c.step = st.global_step;
    c.reason = why;
    c.adapter = &lora;
    c.optimizer = &opt;
    c.state = &st;
    for (const TrainCallbacks* cb : sinks)
      if (cb->on_checkpoint) cb->on_checkpoint(c);
    log("checkpoint at step " + std::to_string(st.global_step) + " (" + why + ")");
  };
  // Returns true when early stopping triggers.
  auto run_eval = [&](TrainProgress& p) {
    if (!objective.evaluate) return false;
    // Data parallel: rank 0 evaluates and sends the result to every rank,
    // so that all agree on the best step and on early stopping.
    ObjectiveStats e;
    if (rank == 0) e = objective.evaluate(lora);
    if (world > 1) e = stats_broadcast(e, "the validation result of step " + std::to_string(st.global_step));
    p.val_loss = e.loss;
    p.val_token_accuracy = e.accuracy;
    p.val_metrics = e.metrics;
    TrainEvaluation ev;
    ev.step = st.global_step;
    ev.loss = e.loss;
    ev.token_accuracy = e.accuracy;
    ev.best = st.best_step < 0 || e.loss < st.best_val_loss;
    if (ev.best) {
      st.best_val_loss = e.loss;
      st.best_step = st.global_step;
      st.evals_without_improvement = 0;
    } else {
      st.evals_without_improvement++;
    }
    ev.best_step = st.best_step;
    ev.best_loss = st.best_val_loss;
    for (const TrainCallbacks* cb : sinks)
      if (cb->on_evaluation) cb->on_evaluation(ev);
    if (ev.best) {
      for (const TrainCallbacks* cb : sinks)
        if (cb->on_best) cb->on_best(st.global_step, e.loss, lora);
      log("validation loss " + std::to_string(e.loss) + " (best so far)");
    } else {
      log("validation loss " + std::to_string(e.loss) + " (best " + std::to_string(st.best_val_loss) + " at step " +
          std::to_string(st.best_step) + ")");
    }
    return h.early_stopping_patience > 0 && st.evals_without_improvement >= h.early_stopping_patience;
  };

  const auto t_start = clock::now();
  const int64_t first_step = st.global_step;  // steps done by an earlier process do not count for the ETA
  const float base_lr = plan.learning_rate;
  bool stop_early = false;
  bool stop_agreed = false;  // data parallel: a stop asked of any rank, agreed at the last all-reduce
  for (; st.epoch < plan.epochs && !stop_early; st.epoch++, st.step_in_epoch = 0) {
    const std::vector<MicroBatch> batches = epoch_batches(objective.train_tokens, cfg, st.epoch, /*shuffle=*/true);
    // Each process runs `accum` of a step's accum x world micro-batches.
    const int64_t accum = plan.gradient_accumulation_steps;
    const int64_t per_step = accum * world;
    const int64_t steps = (static_cast<int64_t>(batches.size()) + per_step - 1) / per_step;
    for (; st.step_in_epoch < steps; ) {
      if (st.global_step >= plan.total_steps) break;
      if (world > 1 ? stop_agreed : stop && stop->load()) {
        checkpoint("interrupted");
        res.status = TrainStatus::Interrupted;
        res.steps = st.global_step;
        return res;
      }
      // 1. The optimizer step's micro-batches.
      const auto t0 = clock::now();
      const int64_t first = st.step_in_epoch * per_step;
      const int64_t last = std::min<int64_t>(first + per_step, static_cast<int64_t>(batches.size()));
      const std::vector<MicroBatch> mbs(batches.begin() + first, batches.begin() + last);
      const size_t own_begin = std::min<size_t>(static_cast<size_t>(rank * accum), mbs.size());
      const size_t own_end = std::min<size_t>(static_cast<size_t>((rank + 1) * accum), mbs.size());
      // 2. Forward + backward over each micro-batch; gradients accumulate as
      //    those of the objective's loss over the whole step.
      for (auto& g : grads.layers)
        for (auto& mm : g) {
          std::fill(mm.a.begin(), mm.a.end(), 0.0f);
          std::fill(mm.b.begin(), mm.b.end(), 0.0f);
        }
      ObjectiveStats step_stats =
          objective.step(mbs, own_begin, own_end, lora, grads, mix(h.seed, static_cast<uint64_t>(st.global_step) + 1));
      // 2b. Data parallel: sum the processes' gradients and stats.
      double comm_s = 0;
      if (world > 1) {
        const double c0 = dist_comm_seconds();
        stop_agreed = stop && stop->load();
        step_allreduce(grads, step_stats, stop_agreed, st.global_step + 1);
        comm_s = dist_comm_seconds() - c0;
      }
      // 3. Clip, schedule, AdamW; a non-finite loss or gradient stops the run
      //    before it reaches the adapter (the last checkpoint stays good).
      const double norm = grad_clip(grads, h.max_grad_norm);
      const bool loss_ok = step_stats.finite && std::isfinite(step_stats.loss);
      if (!loss_ok || !std::isfinite(norm))
        throw Error(ErrorKind::FailedPrecondition, "step " + std::to_string(st.global_step + 1),
                    std::string("the ") + (loss_ok ? "gradient norm" : "loss") +
                        " is not finite (" + std::to_string(loss_ok ? norm : step_stats.loss) +
                        "); training stopped",
                    "a lower hyperparameters.learning_rate, or check job.init_adapter for NaN/Inf weights");
      const float lr = static_cast<float>(base_lr * lr_multiplier(h.lr_scheduler, st.global_step, plan.total_steps,
                                                                  plan.warmup_steps));
      adamw_step(lora, grads, opt, adam, lr);
      st.global_step++;
      st.step_in_epoch++;
      // 4. Report, evaluate, checkpoint.
      const double dt = std::chrono::duration<double>(clock::now() - t0).count();
      TrainProgress p;
      p.step = st.global_step;
      p.total_steps = plan.total_steps;
      p.epoch = st.epoch + 1;
      p.epoch_progress = st.epoch + static_cast<double>(st.step_in_epoch) / static_cast<double>(steps);
      p.loss = step_stats.loss;
      p.token_accuracy = step_stats.accuracy;
      p.metrics = step_stats.metrics;
      p.learning_rate = lr;
      p.grad_norm = norm;
      p.tokens = step_stats.tokens;
      p.tokens_per_s = dt > 0 ? static_cast<double>(step_stats.tokens) / dt : 0.0;
      p.world_size = world;
      p.comm_s = comm_s;
      const bool epoch_end = st.step_in_epoch == steps || st.global_step == plan.total_steps;
      const bool eval_due = eval_strategy == EvalStrategy::Steps ? st.global_step % h.eval_steps == 0
                            : eval_strategy == EvalStrategy::Epoch ? epoch_end
                                                                   : false;
      if (eval_due) stop_early = run_eval(p);
      res.final_loss = p.loss;
      p.elapsed_s = std::chrono::duration<double>(clock::now() - t_start).count();
      const double per_step = p.elapsed_s / static_cast<double>(std::max<int64_t>(1, st.global_step - first_step));
      p.eta_s = per_step * static_cast<double>(plan.total_steps - st.global_step);
      for (const TrainCallbacks* cb : sinks)
        if (cb->on_step) cb->on_step(p);
      if ((h.save_steps > 0 && st.global_step % h.save_steps == 0) || epoch_end || stop_early) {
        if (epoch_end) {  // the checkpoint resumes at the start of the next epoch
          st.epoch++;
          st.step_in_epoch = 0;
          checkpoint(stop_early ? "early stop" : "epoch end");
          st.epoch--;
          st.step_in_epoch = steps;
        } else {
          checkpoint(stop_early ? "early stop" : "save steps");
        }
      }
      if (stop_early) {
        log("early stopping: no improvement in " + std::to_string(h.early_stopping_patience) + " evaluations");
        break;
      }
    }
    if (st.global_step >= plan.total_steps) {
      st.epoch++;
      break;
    }
  }

  res.status = stop_early ? TrainStatus::EarlyStopped : TrainStatus::Completed;
  res.steps = st.global_step;
  if (st.best_step >= 0) {
    res.best_val_loss = st.best_val_loss;
    res.best_step = st.best_step;
  }
  TrainFinished f;
  f.result = &res;
  f.plan = &plan;
  f.adapter = &lora;
  f.seconds = std::chrono::duration<double>(clock::now() - t_start).count();
  for (const TrainCallbacks* cb : sinks)
    if (cb->on_finished) cb->on_finished(f);
  return res;
}

SftResult sft_train(const Model& m, const SftData& data, const SftConfig& cfg, const SftFormat& format,
                    const TrainCallbacks& cb) {
  sft_config_check(cfg);
  if (data.train.empty()) throw Error(ErrorKind::DataError, cfg.job.train, "no training examples");
  TrainRunExtras extras;
  extras.n_truncated = data.n_truncated;
  return train_run(m, sft_objective(m, data, cfg, std::make_shared<TrainWorkspace>()), sft_plan(m, data, cfg), cfg,
                   format, extras, cb);
}

namespace {

// Each process's micro-batches per step on resuming the run that saved
// `saved` (a checkpoint's run configuration) with `world` processes.
int accumulation_for_world(const nlohmann::json& saved, int accum, int world) {
  const int saved_world = saved.value("world_size", 1);
  const int saved_accum = saved.value("gradient_accumulation_steps", accum);
  if (saved_world == world) return accum;
  const int64_t global = static_cast<int64_t>(saved_accum) * saved_world;
  if (global % world != 0)
    throw Error(ErrorKind::FailedPrecondition, "job.resume",
                "the checkpoint's run took " + std::to_string(global) + " micro-batches per step (" +
                    std::to_string(saved_world) + " processes x " + std::to_string(saved_accum) + "), which " +
                    std::to_string(world) + " processes cannot share evenly",
                "resume with a number of processes that divides " + std::to_string(global));
  return static_cast<int>(global / world);
}

}  // namespace

int train_resume_accumulation(const SftConfig& cfg) {
  const int accum = cfg.hyperparameters.gradient_accumulation_steps;
  if (cfg.job.resume.empty()) return accum;
  const std::string dir = sft_resume_checkpoint(cfg.job.resume);
  nlohmann::json state;
  try {
    state = nlohmann::json::parse(file_read_all(dir + "/trainer_state.json"));
  } catch (const std::exception&) {
    return accum;  // train_run's checkpoint_load names what is wrong
  }
  return accumulation_for_world(state.value("run_config", nlohmann::json::object()), accum, dist_world_size());
}

SftResult train_run(const Model& m, const TrainObjective& objective, const SftPlan& plan, const SftConfig& cfg,
                    const SftFormat& format, const TrainRunExtras& extras, const TrainCallbacks& cb) {
  // --- validate every input before anything is created ---
  sft_config_check(cfg);
  if (objective.train_tokens.empty()) throw Error(ErrorKind::DataError, cfg.job.train, "no training examples");
  const ModelConfig& c = m.config;
  const std::string out = cfg.job.output;
  if (out.empty()) throw Error("job.output", "is required");
  // Data parallel (train/dist.h): rank 0 alone reads the files and writes
  // the run directory; the other ranks receive its starting state.
  const int world = dist_world_size();
  const bool leader = dist_rank() == 0;
  LoraAdapter lora;
  AdamWState opt;
  TrainState st;
  int accum = cfg.hyperparameters.gradient_accumulation_steps;  // each process's micro-batches per step
  std::string resume_dir;
  nlohmann::json run_cfg;
  std::unique_ptr<SftRunWriter> writer;
  bool world_changed = false;  // resumed with another number of processes than the checkpoint's
  if (leader) {
    SftDataHashes hashes;
    hashes.train_sha256 = file_sha256(uri_resolve(cfg.job.train));
    if (!cfg.job.validation.empty()) hashes.validation_sha256 = file_sha256(uri_resolve(cfg.job.validation));

    // The state: fresh, continued from an adapter, or resumed from a checkpoint.
    const LoraConfig lc = sft_lora_config(cfg);
    st.seed = cfg.hyperparameters.seed;
    if (!cfg.job.resume.empty()) {
      resume_dir = sft_resume_checkpoint(cfg.job.resume);
      nlohmann::json saved;
      checkpoint_load(resume_dir, c, lora, opt, st, &saved);
      // Another number of processes keeps the checkpoint's global batch:
      // each process runs (saved accumulation x saved processes) / processes
      // micro-batches per step, so the data order and the schedule stay.
      const int saved_world = saved.value("world_size", 1);
      const int saved_accum = saved.value("gradient_accumulation_steps", accum);
      accum = accumulation_for_world(saved, accum, world);
      world_changed = saved_world != world;
      SftConfig now_cfg = cfg;
      now_cfg.hyperparameters.gradient_accumulation_steps = saved_world != world ? saved_accum : accum;
      run_cfg = sft_run_config_json(now_cfg, lora.config.rank, hashes);
      // With an --init-adapter the adapter's own rank is the run's.
      const int rank_now = cfg.job.init_adapter.empty() ? cfg.lora.rank : lora.config.rank;
      nlohmann::json now = sft_run_config_json(now_cfg, rank_now, hashes);
      sft_resume_check(saved, now, cfg.job.resume_allow);
      if (!extras.objective_config.is_null() && saved.value("objective", nlohmann::json()) != extras.objective_config)
        throw Error(ErrorKind::FailedPrecondition, "job.resume",
                    "the run's objective differs from the checkpoint's: " +
                        saved.value("objective", nlohmann::json()).dump() + " in the checkpoint, " +
                        extras.objective_config.dump() + " now",
                    "resume with the settings the run started with, or start a new run in another output directory");
      if (st.seed != cfg.hyperparameters.seed)
        throw Error(ErrorKind::FailedPrecondition, "hyperparameters.seed",
                    "differs from the checkpoint's seed (" + std::to_string(st.seed) + ")");
      if (saved_world != world) {
        SftConfig run = cfg;
        run.hyperparameters.gradient_accumulation_steps = accum;
        run_cfg = sft_run_config_json(run, lora.config.rank, hashes);
      }
    } else {
      if (!cfg.job.init_adapter.empty()) {
        try {
          lora = lora_load(cfg.job.init_adapter, c);
        } catch (const Error& e) {
          throw Error(e.kind(), "job.init_adapter", e.where() + ": " + e.message(), e.hint());
        }
        lora.config.dropout = lc.dropout;
      } else {
        lora = lora_init(c, lc, mix(cfg.hyperparameters.seed, 0xada9));
      }
      opt = adamw_init(lora);
      run_cfg = sft_run_config_json(cfg, lora.config.rank, hashes);
    }
    run_cfg["world_size"] = world;
    if (!extras.objective_config.is_null()) run_cfg["objective"] = extras.objective_config;
    // What a user (or `loam merge`) can resolve later from anywhere: the
    // absolute path, not the path as typed relative to the working directory.
    lora.config.base_model = std::filesystem::absolute(cfg.job.source_model).lexically_normal().string();
    if (lora.config.base_model.size() > 1 && lora.config.base_model.back() == '/') lora.config.base_model.pop_back();
    sft_output_check(out, resume_dir, cfg.job.overwrite_output);
  }
  if (world > 1) {
    std::string bytes = leader ? train_state_bytes(lora, opt, st, accum) : std::string();
    dist_broadcast(bytes, "the run's starting state from rank 0", /*setup=*/true);
    if (!leader) train_state_parse(bytes, lora, opt, st, accum);
  }
  SftPlan run_plan = plan;
  if (accum != run_plan.gradient_accumulation_steps) plan_steps(run_plan, cfg, accum);

  // --- the run: the directory writer first (rank 0), then the caller's sinks ---
  std::vector<const TrainCallbacks*> sinks;
  if (leader) {
    writer = std::make_unique<SftRunWriter>(out, c, cfg, format, extras.n_truncated, run_cfg);
    writer->set_checkpoint_files(extras.checkpoint_files);
    writer->begin(!resume_dir.empty(), st.global_step);
    sinks.push_back(&writer->callbacks());
    if (!resume_dir.empty() && cb.on_log)
      cb.on_log("resumed from " + resume_dir + " at step " + std::to_string(st.global_step));
    if (resume_dir.empty() && !cfg.job.init_adapter.empty() && cb.on_log)
      cb.on_log("continuing from adapter " + cfg.job.init_adapter + " (rank " + std::to_string(lora.config.rank) + ")");
    if (world_changed && cb.on_log)
      cb.on_log("the checkpoint's global batch is kept with " + std::to_string(world) +
                (world == 1 ? " process: " : " processes: ") +
                "gradient accumulation " + std::to_string(accum) + " per process (" +
                std::to_string(static_cast<int64_t>(accum) * world * cfg.hyperparameters.batch_size) +
                " examples per step)");
  }
  sinks.push_back(&cb);
  SftResult res;
  try {
    res = train_loop(m, objective, run_plan, cfg, lora, opt, st, sinks, cb.stop);
  } catch (const Error& e) {
    const std::string written = writer ? writer->last_checkpoint() : std::string();
    const std::string last = written.empty() ? resume_dir : written;
    const std::string kept = last.empty() ? "no checkpoint was written" : "the last good checkpoint is " + last;
    throw Error(e.kind(), e.where(), e.message() + (leader ? "; " + kept : ""), e.hint());
  }
  res.output_dir = out;
  if (writer) res.last_checkpoint = writer->last_checkpoint();
  return res;
}

}  // namespace loam
