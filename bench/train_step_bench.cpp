// End-to-end LoRA training throughput (issue 4's benchmark): LoRA r=8 on all
// linear layers of a model directory, one sequence of --seq random tokens per
// step, forward + backward + AdamW, after one warm-up step.
//   ./build/train_step_bench MODEL_DIR [--seq 512] [--steps 5] [--rank 8]
//       [--precision exact|bf16] [--checkpointing] [--threads N]
// Prints one JSON line: tokens/s (median), step seconds, peak RSS.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "core/error.h"
#include "core/system.h"
#include "kernels/matmul.h"
#include "kernels/threading.h"
#include "model/lora.h"
#include "model/model.h"
#include "model/transformer_train.h"
#include "train/optimizer.h"

int main(int argc, char** argv) {
  using namespace loam;
  if (argc < 2) {
    std::fprintf(stderr, "usage: train_step_bench MODEL_DIR [--seq N] [--steps N] [--rank R] [--precision exact|bf16] [--checkpointing] [--threads N]\n");
    return 2;
  }
  std::string dir = argv[1], precision = "exact";
  int seq = 512, steps = 5, rank = 8, threads = 0;
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
    std::vector<double> times;
    double loss = 0;
    for (int s = 0; s <= steps; s++) {
      auto t0 = std::chrono::steady_clock::now();
      LoraAdapter grads = lora_zeros_like(lora);
      LossStats ls = model_train_step(m, lora, grads, b, 1.0f / (seq - 1), opt, &ws);
      grad_clip(grads, 1.0);
      adamw_step(lora, grads, st, AdamWConfig{}, 1e-4f);
      double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (s > 0) times.push_back(dt);
      loss = ls.loss_sum / ls.n_scored;
    }
    std::sort(times.begin(), times.end());
    const double med = times[times.size() / 2];
    std::printf("{\"tokens_per_s\": %.1f, \"step_s\": %.3f, \"peak_rss_bytes\": %lld, \"threads\": %d, "
                "\"precision\": \"%s\", \"checkpointing\": %s, \"seq\": %d, \"rank\": %d, \"loss\": %.4f}\n",
                seq / med, med, static_cast<long long>(process_peak_rss()), kernels_threads(), precision.c_str(),
                checkpointing ? "true" : "false", seq, rank, loss);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
