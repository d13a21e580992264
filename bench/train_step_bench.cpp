// End-to-end LoRA training throughput (issue 4's benchmark): LoRA r=8 on all
// linear layers of a model directory, one sequence of --seq random tokens per
// step, forward + backward + AdamW, after one warm-up step.
//   ./build/train_step_bench MODEL_DIR [--seq 512] [--steps 5] [--rank 8]
//       [--precision exact|bf16] [--checkpointing] [--threads N] [--objective sft|dpo] [--lr 1e-4]
//       [--denormals flush|keep]
// --denormals flush (default) sets FTZ|DAZ on the kernel threads as the
// training loop does (kernels/denormals.h); keep leaves subnormal arithmetic
// on, to show what a saturated DPO loss costs without it.
// --lr 0 keeps the adapter fixed (AdamW still runs): on random weights a few
// DPO steps saturate the loss and the backward slows on denormal weights.
// --objective dpo: a DPO step (train/preference_step.h, sigmoid, beta 0.1)
// on one pair: a prompt of seq/2 tokens with chosen and rejected completions
// of seq/2 each, i.e. two sequences of seq tokens in one batch; the
// reference (the starting adapter) log-probs are computed once before
// timing (as the trainer caches them). tokens/s counts every token run (both sequences).
// Prints one JSON line: tokens/s (median), step seconds, peak RSS.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <random>
#include <string>

#include "core/error.h"
#include "core/system.h"
#include "kernels/denormals.h"
#include "kernels/matmul.h"
#include "kernels/threading.h"
#include "model/lora.h"
#include "model/model.h"
#include "model/transformer_train.h"
#include "train/optimizer.h"
#include "train/preference_step.h"

int main(int argc, char** argv) {
  using namespace loam;
  if (argc < 2) {
    std::fprintf(stderr, "usage: train_step_bench MODEL_DIR [--seq N] [--steps N] [--rank R] [--precision exact|bf16] [--checkpointing] [--threads N]\n");
    return 2;
  }
  std::string dir = argv[1], precision = "exact", objective = "sft", denormals = "flush";
  int seq = 512, steps = 5, rank = 8, threads = 0;
  float lr = 1e-4f;
  bool checkpointing = false;
  for (int i = 2; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--seq") seq = std::stoi(next());
    else if (a == "--steps") steps = std::stoi(next());
    else if (a == "--rank") rank = std::stoi(next());
    else if (a == "--precision") precision = next();
    else if (a == "--threads") threads = std::stoi(next());
    else if (a == "--checkpointing") checkpointing = true;
    else if (a == "--objective") objective = next();
    else if (a == "--lr") lr = std::stof(next());
    else if (a == "--denormals") denormals = next();
  }
  if (denormals != "flush" && denormals != "keep") {
    std::fprintf(stderr, "--denormals: expected flush or keep\n");
    return 2;
  }
  try {
    Model m = model_load(dir);
    m.compute = {precision == "bf16" ? MatmulPrecision::Bf16 : MatmulPrecision::Exact, threads};
    if (threads > 0) kernels_set_threads(threads);  // the reported count
    if (precision == "bf16") model_matrices_to_bf16(m);  // BF16 products need BF16-stored weights
    LoraConfig lc;
    lc.rank = rank;
    lc.alpha = 16.0f;
    LoraAdapter lora = lora_init(m.config, lc, 1);
    for (auto& layer : lora.layers)  // non-zero B so every path does real work
      for (auto& mm : layer)
        for (float& x : mm.b) x = 1e-3f;
    AdamWState st = adamw_init(lora);
    std::mt19937 rng(7);
    std::uniform_int_distribution<int32_t> pick(0, m.config.vocab - 1);
    std::vector<int32_t> ids(seq), targets(seq);
    for (int i = 0; i < seq; i++) ids[i] = pick(rng);
    for (int i = 0; i < seq; i++) targets[i] = i + 1 < seq ? ids[i + 1] : kIgnoreIndex;
    TrainBatch b;
    b.append(ids, targets);
    TrainStepOptions opt;
    opt.gradient_checkpointing = checkpointing;
    TrainWorkspace ws;
    const bool dpo = objective == "dpo";
    std::vector<PreferencePair> pairs(1);
    pairs[0].prompt.assign(ids.begin(), ids.begin() + seq / 2);
    pairs[0].chosen.assign(ids.begin() + seq / 2, ids.end());
    for (int i = seq / 2; i < seq; i++) pairs[0].rejected.push_back(pick(rng));
    PreferenceLossConfig plc;
    std::vector<PairLogps> ref;
    // The reference is the starting adapter (--reference init): the step
    // starts at z = 0 with weights of a real step. (A reference far from the
    // policy saturates the loss, and weights near 1e-30 turn the backward
    // into denormal arithmetic, many times slower: not a step worth timing.)
    if (dpo) ref = preference_logps(m, &lora, pairs, {0}, ws);
    std::optional<DenormalsFlush> flush;
    if (denormals == "flush") flush.emplace();
    std::vector<double> times;
    double loss = 0;
    for (int s = 0; s <= steps; s++) {
      auto t0 = std::chrono::steady_clock::now();
      LoraAdapter grads = lora_zeros_like(lora);
      if (dpo) {
        const PreferenceStepStats ps = preference_step(m, lora, grads, pairs, {0}, ref, plc, 1.0,
                                                       1.0 / static_cast<double>(pairs[0].chosen.size()), opt, ws);
        loss = ps.losses[0].loss;
      }
      LossStats ls = dpo ? LossStats{loss, 1, 0} : model_train_step(m, lora, grads, b, 1.0f / (seq - 1), opt, &ws);
      grad_clip(grads, 1.0);
      adamw_step(lora, grads, st, AdamWConfig{}, lr);
      double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (s > 0) times.push_back(dt);
      loss = ls.loss_sum / ls.n_scored;
    }
    std::sort(times.begin(), times.end());
    const double med = times[times.size() / 2];
    const int tokens = dpo ? 2 * seq : seq;
    std::printf("{\"objective\": \"%s\", \"tokens_per_s\": %.1f, \"step_s\": %.3f, \"peak_rss_bytes\": %lld, \"threads\": %d, "
                "\"precision\": \"%s\", \"checkpointing\": %s, \"seq\": %d, \"rank\": %d, \"loss\": %.4f, \"denormals\": \"%s\"}\n",
                objective.c_str(), tokens / med, med, static_cast<long long>(process_peak_rss()), kernels_threads(), precision.c_str(),
                checkpointing ? "true" : "false", seq, rank, loss, denormals.c_str());
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
