// Evaluation generation throughput (issue 11's benchmark): N prompts, each
// answered with exactly --new-tokens tokens (eos disabled) through
// eval_generate(), the one seam `loam eval` generates through.
//   ./build/eval_generate_bench MODEL_DIR [--examples 64] [--new-tokens 64]
//       [--prompt-tokens 32] [--mode one-by-one|batched] [--precision exact|bf16] [--threads N]
// --mode batched passes --batch-size = examples (all sequences in one decode
// batch of the BatchDecoder); one-by-one passes 1.
// Prints one JSON line: seconds, generated tokens/s, examples/s.
#include <chrono>
#include <cstdio>
#include <random>
#include <string>

#include "core/error.h"
#include "eval/eval_model.h"
#include "kernels/matmul.h"
#include "kernels/threading.h"
#include "model/model.h"
#include "tokenizer/model_text.h"

int main(int argc, char** argv) {
  using namespace loam;
  if (argc < 2) {
    std::fprintf(stderr, "usage: eval_generate_bench MODEL_DIR [--examples N] [--new-tokens N] [--prompt-tokens N] "
                         "[--mode one-by-one|batched] [--precision exact|bf16] [--threads N]\n");
    return 2;
  }
  std::string dir = argv[1], mode = "one-by-one", precision = "exact";
  int examples = 64, new_tokens = 64, prompt_tokens = 32, threads = 0;
  for (int i = 2; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--examples") examples = std::stoi(next());
    else if (a == "--new-tokens") new_tokens = std::stoi(next());
    else if (a == "--prompt-tokens") prompt_tokens = std::stoi(next());
    else if (a == "--mode") mode = next();
    else if (a == "--precision") precision = next();
    else if (a == "--threads") threads = std::stoi(next());
  }
  if (mode != "one-by-one" && mode != "batched") {
    std::fprintf(stderr, "--mode: one-by-one or batched\n");
    return 2;
  }
  try {
    Model m = model_load(dir);
    m.compute.threads = threads;
    m.compute.precision = precision == "bf16" ? MatmulPrecision::Bf16 : MatmulPrecision::Exact;
    if (precision == "bf16") model_matrices_to_bf16(m);
    ModelText text = model_text_load(dir);
    m.generation.eos_ids.clear();  // every answer runs to --new-tokens
    text.eos_ids.clear();
    std::mt19937 rng(11);
    std::uniform_int_distribution<int32_t> pick(3, m.config.vocab - 1);
    std::uniform_int_distribution<int> len(prompt_tokens / 2, prompt_tokens * 3 / 2);
    std::vector<std::vector<int32_t>> prompts(static_cast<size_t>(examples));
    for (auto& p : prompts) {
      p.resize(static_cast<size_t>(len(rng)));
      for (int32_t& id : p) id = pick(rng);
    }
    DecodeSettings s;
    s.max_tokens = new_tokens;
    s.batch_size = mode == "batched" ? examples : 1;
    auto t0 = std::chrono::steady_clock::now();
    std::vector<Generation> out = eval_generate(m, text, prompts, nullptr, s);
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    int64_t generated = 0;
    for (const Generation& g : out) generated += g.n_tokens;
    std::printf("{\"mode\":\"%s\",\"examples\":%d,\"new_tokens\":%d,\"precision\":\"%s\",\"threads\":%d,"
                "\"seconds\":%.3f,\"generated_tokens\":%lld,\"tokens_per_s\":%.2f,\"examples_per_s\":%.3f}\n",
                mode.c_str(), examples, new_tokens, precision.c_str(), threads > 0 ? threads : kernels_threads(), sec,
                static_cast<long long>(generated), generated / sec, examples / sec);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
