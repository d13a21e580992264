// The gradient all-reduce of data-parallel tuning alone (train/dist.h): the
// flat LoRA gradient of a model shape, summed over the ranks of mpirun, as
// the training loop does every step. Reports milliseconds per all-reduce
// (median and mean over --iters, after 3 warm-ups) and the bytes each rank
// sends. Run it under mpirun, e.g. (loopback):
//   mpirun --oversubscribe -np 2 --mca btl self,tcp --mca btl_tcp_if_include lo \
//     --mca oob_tcp_if_include lo build/allreduce_bench --hidden 576 --layers 30 \
//     --heads 9 --kv-heads 3 --intermediate 1536 --rank 8
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/lora.h"
#include "train/dist.h"

int main(int argc, char** argv) {
  loam::dist_init_if_launched(&argc, &argv);
  loam::ModelConfig c;
  int rank = 8, iters = 50;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (k == "--hidden") c.hidden = v;
    else if (k == "--layers") c.n_layers = v;
    else if (k == "--heads") c.n_heads = v;
    else if (k == "--kv-heads") c.n_kv_heads = v;
    else if (k == "--intermediate") c.intermediate = v;
    else if (k == "--rank") rank = v;
    else if (k == "--iters") iters = v;
    else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      return 2;
    }
  }
  if (!c.hidden || !c.n_layers || !c.n_heads || !c.intermediate) {
    std::fprintf(stderr, "need --hidden --layers --heads --intermediate (--kv-heads --rank --iters)\n");
    return 2;
  }
  if (!c.n_kv_heads) c.n_kv_heads = c.n_heads;
  c.head_dim = c.hidden / c.n_heads;
  int64_t n = 0;  // LoRA parameters on every linear layer (all-linear, the default)
  for (int t = 0; t < loam::kLoraTargets; t++) {
    auto [in, out] = loam::lora_target_dims(c, static_cast<loam::LoraTarget>(t));
    n += static_cast<int64_t>(rank) * (in + out);
  }
  n *= c.n_layers;
  std::vector<float> g(static_cast<size_t>(n), 1.0f);
  std::vector<double> ms;
  for (int i = 0; i < iters + 3; i++) {
    const auto t0 = std::chrono::steady_clock::now();
    loam::dist_allreduce_sum(g.data(), n, "the bench all-reduce");
    const double dt = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (i >= 3) ms.push_back(dt);
    std::fill(g.begin(), g.end(), 1.0f);
  }
  std::sort(ms.begin(), ms.end());
  double mean = 0;
  for (double x : ms) mean += x / static_cast<double>(ms.size());
  if (loam::dist_rank() == 0)
    std::printf("ranks %d  lora rank %d  params %lld (%.2f MB fp32)  all-reduce median %.3f ms  mean %.3f ms\n",
                loam::dist_world_size(), rank, static_cast<long long>(n), static_cast<double>(n) * 4 / 1e6,
                ms[ms.size() / 2], mean);
  loam::dist_finalize();
  return 0;
}
