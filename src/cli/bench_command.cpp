#include "cli/bench_command.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include "core/error.h"
#include "kernels/matmul.h"
#include "kernels/threading.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "model/transformer.h"

namespace loam::cli {
namespace {

struct BenchOptions {
  std::string model;
  int prompt_tokens = 512;
  int gen_tokens = 128;
  int threads = 0;
  int repetitions = 5;
  std::string precision = "auto";
  bool json = false;
};

struct Stats {
  double median = 0, mean = 0, stddev = 0;
};

Stats stats_of(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.median = v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  for (double x : v) s.stddev += (x - s.mean) * (x - s.mean);
  s.stddev = v.size() > 1 ? std::sqrt(s.stddev / static_cast<double>(v.size() - 1)) : 0.0;
  return s;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double run_pp(const Model& m, const std::vector<int32_t>& tokens, std::vector<float>& logits) {
  KvCache cache(m.config, static_cast<int64_t>(tokens.size()));
  auto t0 = std::chrono::steady_clock::now();
  model_forward(m, nullptr, cache, tokens.data(), static_cast<int64_t>(tokens.size()), logits.data(), 1);
  return seconds_since(t0);
}

double run_tg(const Model& m, const std::vector<int32_t>& tokens, std::vector<float>& logits) {
  KvCache cache(m.config, static_cast<int64_t>(tokens.size()));
  auto t0 = std::chrono::steady_clock::now();
  for (int32_t tok : tokens) model_forward(m, nullptr, cache, &tok, 1, logits.data(), 1);
  return seconds_since(t0);
}

std::string dominant_dtype(const Model& m) { return dtype_name(m.weights.layers.at(0).wq.dtype); }

void run_bench(const BenchOptions& o) {
  Model m = model_load(o.model);
  m.compute.threads = o.threads;
  const std::string dtype = dominant_dtype(m);
  if (o.precision == "bf16" || (o.precision == "auto" && dtype == "BF16"))
    m.compute.precision = MatmulPrecision::Bf16;
  else if (o.precision == "exact" || o.precision == "auto")
    m.compute.precision = MatmulPrecision::Exact;
  else
    throw Error("--precision", "expected auto, exact or bf16");
  if (o.prompt_tokens + 1 > m.config.max_position || o.gen_tokens > m.config.max_position)
    throw Error("--prompt-tokens", "longer than the model's context (" + std::to_string(m.config.max_position) + ")");
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> pick(0, m.config.vocab - 1);
  std::vector<int32_t> prompt(o.prompt_tokens), gen(o.gen_tokens);
  for (auto& t : prompt) t = pick(rng);
  for (auto& t : gen) t = pick(rng);
  std::vector<float> logits(m.config.vocab);

  // Warm-up: fault the mapped weights in and size the scratch buffers.
  if (o.prompt_tokens > 0) run_pp(m, prompt, logits);
  if (o.gen_tokens > 0) run_tg(m, std::vector<int32_t>(gen.begin(), gen.begin() + std::min(8, o.gen_tokens)), logits);
  std::vector<double> pp, tg;
  for (int r = 0; r < o.repetitions; r++) {
    if (o.prompt_tokens > 0) pp.push_back(o.prompt_tokens / run_pp(m, prompt, logits));
    if (o.gen_tokens > 0) tg.push_back(o.gen_tokens / run_tg(m, gen, logits));
  }
  Stats sp = stats_of(pp), st = stats_of(tg);
  const double gb = static_cast<double>(model_weight_bytes(m)) / 1e9;
  const int threads = m.compute.threads > 0 ? m.compute.threads : kernels_threads();
  if (o.json) {
    nlohmann::json j = {
        {"model", m.path}, {"format", m.format}, {"architecture", m.config.arch}, {"dtype", dtype},
        {"precision", m.compute.precision == MatmulPrecision::Bf16 ? "bf16" : "exact"},
        {"threads", threads}, {"repetitions", o.repetitions}, {"prompt_tokens", o.prompt_tokens},
        {"gen_tokens", o.gen_tokens}, {"pp_tokens_per_s", sp.median}, {"pp_stddev", sp.stddev},
        {"pp_samples", pp}, {"tg_tokens_per_s", st.median}, {"tg_stddev", st.stddev}, {"tg_samples", tg},
        {"weight_gb", gb}, {"tg_weight_stream_gb_per_s", st.median * gb},
    };
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("| model | dtype | threads | test | tokens/s |\n|---|---|---|---|---|\n");
  if (!pp.empty())
    std::printf("| %s | %s | %d | pp%d | %.2f ± %.2f |\n", m.config.arch.c_str(), dtype.c_str(), threads,
                o.prompt_tokens, sp.median, sp.stddev);
  if (!tg.empty())
    std::printf("| %s | %s | %d | tg%d | %.2f ± %.2f |\n", m.config.arch.c_str(), dtype.c_str(), threads,
                o.gen_tokens, st.median, st.stddev);
  if (!tg.empty()) std::printf("decode streams %.2f GB of weights per token: %.1f GB/s\n", gb, st.median * gb);
}

}  // namespace

void register_bench_command(CLI::App& app) {
  static BenchOptions o;
  auto* c = app.add_subcommand("bench", "Measure prompt-processing and decode tokens/s");
  c->add_option("--model", o.model, "Model directory or .gguf file")->required();
  c->add_option("--prompt-tokens", o.prompt_tokens, "Prompt length for pp (0 = skip)")->check(CLI::Range(0, 1 << 20));
  c->add_option("--gen-tokens", o.gen_tokens, "Decode steps for tg (0 = skip)")->check(CLI::Range(0, 1 << 20));
  c->add_option("--threads", o.threads, "CPU threads (default: all cores)")->check(CLI::Range(1, 1024));
  c->add_option("--repetitions", o.repetitions, "Measured runs after one warm-up")->check(CLI::Range(1, 1000));
  c->add_option("--precision", o.precision, "auto (bf16 math for BF16 weights), exact or bf16");
  c->add_flag("--json", o.json, "Print one JSON object");
  c->callback([] { run_bench(o); });
}

}  // namespace loam::cli
