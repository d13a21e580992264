// Mixed-adapter decode (issue 8): one decode step of 8 sequences as one batch
// through the layer step, (a) all 8 rows on one LoRA adapter, (b) 2 rows on
// each of 4 adapters, (c) no adapter. Each sequence has --ctx tokens of KV
// context; the steps are interleaved a, b, c, a, b, c, ... and the medians
// compared; also (d) one sequence alone, bare and on an adapter, for the
// batching gain (8 rows' tokens/s over one row's). LoRA r=8 on all linear
// layers, nonzero B. --bf16 computes as `loam serve --precision bf16` does.
//   ./build/batch_lora_bench MODEL_DIR [--ctx 64] [--steps 40] [--rank 8] [--threads N] [--bf16] [--only one|four|none|alone]
// Prints one JSON line.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "model/lora.h"
#include "model/model.h"
#include "model/transformer.h"

int main(int argc, char** argv) {
  using namespace loam;
  if (argc < 2) {
    std::fprintf(stderr, "usage: batch_lora_bench MODEL_DIR [--ctx N] [--steps N] [--rank R] [--threads N]\n");
    return 2;
  }
  const std::string dir = argv[1];
  int ctx = 64, steps = 40, rank = 8, threads = 0;
  bool bf16 = false;
  std::string only;  // --only one|four|none|alone: time that case alone (profiling)
  for (int i = 2; i < argc; i++) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
    if (a == "--ctx") ctx = next();
    else if (a == "--steps") steps = next();
    else if (a == "--rank") rank = next();
    else if (a == "--threads") threads = next();
    else if (a == "--bf16") bf16 = true;
    else if (a == "--only" && i + 1 < argc) only = argv[++i];
  }
  try {
    Model m = model_load(dir);
    m.compute.threads = threads;
    if (bf16) {
      m.compute.precision = MatmulPrecision::Bf16;
      if (m.weights.layers.at(0).wq.dtype != DType::BF16) model_matrices_to_bf16(m);
    }
    constexpr int kSeqs = 8, kAdapters = 4;
    std::vector<LoraAdapter> adapters;
    for (int i = 0; i < kAdapters; i++) {
      LoraConfig lc;
      lc.rank = rank;
      adapters.push_back(lora_init(m.config, lc, 100 + i));
      for (auto& layer : adapters.back().layers)
        for (auto& mm : layer)
          for (float& x : mm.b) x = 1e-3f;
      lora_prepare_decode(adapters.back(), bf16);
    }
    const AdapterList all{&adapters[0], &adapters[1], &adapters[2], &adapters[3]};
    // Prefill every sequence's context into its own KV range.
    const int64_t span = ctx + 1;
    KvCache pool(m.config, kSeqs * span);
    std::mt19937 rng(7);
    std::uniform_int_distribution<int32_t> pick(0, m.config.vocab - 1);
    ForwardWorkspace ws;
    for (int s = 0; s < kSeqs; s++) {
      std::vector<int32_t> ids(ctx);
      for (int32_t& t : ids) t = pick(rng);
      ForwardBatch b;
      b.add_sequence(ids.data(), ctx, 0, static_cast<int32_t>(s * span), s % kAdapters);
      model_forward_hidden(m, all, b, &pool, ForwardOptions{}, ws);
    }
    // The decode batches: row s is sequence s at position ctx.
    auto decode_batch = [&](auto slot_of) {
      ForwardBatch b;
      for (int s = 0; s < kSeqs; s++) {
        const int32_t tok = pick(rng);
        b.add_sequence(&tok, 1, ctx, static_cast<int32_t>(s * span), slot_of(s));
      }
      return b;
    };
    const ForwardBatch one = decode_batch([](int) { return 0; });
    const ForwardBatch four = decode_batch([](int s) { return s / 2; });  // runs of 2 rows per adapter
    const ForwardBatch none = decode_batch([](int) { return kNoAdapter; });
    ForwardBatch alone, alone_lora;  // sequence 0 by itself
    {
      const int32_t tok = pick(rng);
      alone.add_sequence(&tok, 1, ctx, 0, kNoAdapter);
      alone_lora.add_sequence(&tok, 1, ctx, 0, 0);
    }
    std::vector<int64_t> rows(kSeqs);
    for (int s = 0; s < kSeqs; s++) rows[s] = s;
    std::vector<float> logits(static_cast<size_t>(kSeqs * m.config.vocab));
    auto time_step = [&](const ForwardBatch& b) {
      const auto t0 = std::chrono::steady_clock::now();
      model_forward_hidden(m, all, b, &pool, ForwardOptions{}, ws);
      model_logits(m, ws, rows.data(), b.size(), logits.data());
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    if (!only.empty()) {  // one case over and over, for a profiler
      const ForwardBatch& b = only == "one" ? one : only == "four" ? four : only == "alone" ? alone : none;
      double total = 0.0;
      for (int i = 0; i < steps; i++) total += time_step(b);
      std::printf("{\"case\": \"%s\", \"mean_ms\": %.3f}\n", only.c_str(), 1e3 * total / steps);
      return 0;
    }
    for (int w = 0; w < 3; w++) time_step(one), time_step(four), time_step(none), time_step(alone);  // warm-up
    std::vector<double> t_one, t_four, t_none, t_alone, t_alone_lora;
    for (int i = 0; i < steps; i++) {
      t_one.push_back(time_step(one));
      t_four.push_back(time_step(four));
      t_none.push_back(time_step(none));
      t_alone.push_back(time_step(alone));
      t_alone_lora.push_back(time_step(alone_lora));
    }
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    const double a = median(t_one), b = median(t_four), c = median(t_none);
    const double d = median(t_alone), e = median(t_alone_lora);
    std::printf("{\"rows\": %d, \"ctx\": %d, \"rank\": %d, \"bf16\": %s, \"one_adapter_ms\": %.3f, "
                "\"four_adapters_ms\": %.3f, \"no_adapter_ms\": %.3f, \"alone_ms\": %.3f, \"alone_adapter_ms\": %.3f, "
                "\"four_over_one\": %.4f, \"batch8_gain\": %.3f, \"adapter8_over_base8\": %.4f}\n",
                kSeqs, ctx, rank, bf16 ? "true" : "false", 1e3 * a, 1e3 * b, 1e3 * c, 1e3 * d, 1e3 * e, b / a,
                kSeqs * d / c, c / a);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
