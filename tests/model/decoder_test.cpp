// The batched decoder: greedy outputs of a batch (mixed adapters, different
// lengths, limits and stop conditions, sequences added and removed between
// steps) equal each prompt's single-sequence output.
#include "model/decoder.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <cmath>
#include <random>

#include "core/error.h"
#include "model/generate.h"
#include "model/reference_case.h"

namespace loam {
namespace {

// A tokenizer over the test models' 256 ids: token i is "<i>", joined by " ".
Tokenizer id_tokenizer() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int i = 0; i < 256; i++) vocab["<" + std::to_string(i) + ">"] = i;
  nlohmann::json j = {{"added_tokens", nlohmann::json::array()}, {"normalizer", nullptr}, {"pre_tokenizer", nullptr},
                      {"post_processor", nullptr}, {"decoder", nullptr},
                      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}}};
  return Tokenizer(tokenizer_spec_from_json(j, "ids.json"));
}

LoraAdapter noisy_adapter(const Model& m, int rank, uint64_t seed) {
  LoraConfig lc;
  lc.rank = rank;
  lc.alpha = 2.0f * rank;
  LoraAdapter a = lora_init(m.config, lc, seed);
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 0.2f);
  for (auto& layer : a.layers)
    for (LoraMatrix& lm : layer)
      for (float& x : lm.b) x = nd(rng);
  return a;
}

class BatchDecoding : public ::testing::TestWithParam<std::string> {};

TEST_P(BatchDecoding, EqualsEachAlone) {
  const std::string dir = test::model_case_dir(GetParam());
  Model m = model_load(dir);
  const Tokenizer tok = id_tokenizer();
  const LoraAdapter a = lora_load(dir + "/adapter", m.config);
  const LoraAdapter b = noisy_adapter(m, 4, 9);
  std::mt19937 rng(5);
  std::uniform_int_distribution<int32_t> id(0, 255);
  std::vector<GenerateRequest> reqs(6);
  const LoraAdapter* adapters[] = {&a, nullptr, &b, &a, &b, nullptr};
  for (size_t i = 0; i < reqs.size(); i++) {
    reqs[i].prompt.resize(3 + 4 * i);
    for (int32_t& t : reqs[i].prompt) t = id(rng);
    reqs[i].max_tokens = 6 + static_cast<int>(i) * 2;
    reqs[i].lora = adapters[i];
  }
  // Single-sequence outputs; then stop conditions taken from them.
  std::vector<GenerateResult> alone;
  for (const GenerateRequest& r : reqs) alone.push_back(generate(m, tok, r, {}));
  ASSERT_GE(alone[3].tokens.size(), 4u);
  reqs[3].eos_ids = {alone[3].tokens[3]};  // ends with eos at its 4th token (unless earlier)
  ASSERT_GE(alone[4].tokens.size(), 3u);
  reqs[4].stop = {tok.decode(std::vector<int32_t>{alone[4].tokens[2]}, false)};
  alone[3] = generate(m, tok, reqs[3], {});
  std::string streamed4;
  alone[4] = generate(m, tok, reqs[4], [&](std::string_view s) { streamed4 += s; });
  EXPECT_EQ(alone[3].finish, FinishReason::Eos);
  EXPECT_EQ(alone[4].finish, FinishReason::Stop);
  EXPECT_EQ(streamed4, alone[4].text);

  // Batched: 0-3 at once, 4 added after two steps, 5 added then removed, 5 re-added later.
  BatchDecoder dec(m, tok);
  std::map<int64_t, size_t> index;
  std::vector<GenerateResult> got(reqs.size());
  std::vector<std::string> streamed(reqs.size());
  auto add = [&](size_t i) {
    index[dec.add(reqs[i], [&, i](std::string_view s) { streamed[i] += s; })] = i;
  };
  for (size_t i = 0; i < 4; i++) add(i);
  const int64_t dropped = dec.add(reqs[5]);
  int steps = 0;
  while (dec.n_running() > 0 || index.size() < reqs.size()) {
    if (steps == 1) dec.remove(dropped);
    if (steps == 2) add(4);
    if (steps == 4) add(5);
    for (int64_t fin : dec.step()) {
      ASSERT_TRUE(dec.finished(fin));
      got[index.at(fin)] = dec.take(fin);
    }
    ASSERT_LT(++steps, 200);
  }
  for (size_t i = 0; i < reqs.size(); i++) {
    EXPECT_EQ(got[i].tokens, alone[i].tokens) << GetParam() << " prompt " << i;
    EXPECT_EQ(got[i].text, alone[i].text) << GetParam() << " prompt " << i;
    EXPECT_EQ(streamed[i], alone[i].text) << GetParam() << " prompt " << i;
    EXPECT_EQ(got[i].finish, alone[i].finish) << GetParam() << " prompt " << i;
    EXPECT_EQ(got[i].n_prompt, static_cast<int64_t>(reqs[i].prompt.size()));
  }
  EXPECT_EQ(got[0].finish, FinishReason::Length);
  EXPECT_EQ(got[0].tokens.size(), 6u);
}

INSTANTIATE_TEST_SUITE_P(Cases, BatchDecoding, ::testing::Values("llama", "gemma2", "qwen3"));

TEST(BatchDecoder, RejectsBadPrompts) {
  Model m = model_load(test::model_case_dir("llama"));
  const Tokenizer tok = id_tokenizer();
  BatchDecoder dec(m, tok);
  GenerateRequest r;
  EXPECT_THROW(dec.add(r), Error);
  r.prompt = {1, 256};
  EXPECT_THROW(dec.add(r), Error);
  EXPECT_EQ(dec.n_running(), 0);
  EXPECT_TRUE(dec.step().empty());
  r.prompt = {1, 2};
  r.max_tokens = 0;
  const int64_t id = dec.add(r);
  EXPECT_EQ(dec.step(), std::vector<int64_t>{id});
  const GenerateResult res = dec.take(id);
  EXPECT_TRUE(res.tokens.empty());
  EXPECT_EQ(res.finish, FinishReason::Length);
}

// Prefill in chunks of 3 (a long prompt joins a running sequence over
// several steps) gives the tokens of whole-prompt prefill.
TEST(BatchDecoder, ChunkedPrefillEqualsWhole) {
  Model m = model_load(test::model_case_dir("llama"));
  const Tokenizer tok = id_tokenizer();
  GenerateRequest a, b;
  for (int i = 0; i < 11; i++) a.prompt.push_back((i * 37 + 5) % 256);
  b.prompt = {7, 8, 9};
  a.max_tokens = b.max_tokens = 5;
  a.eos_ids = b.eos_ids = {};
  std::vector<std::vector<int32_t>> out[2];
  for (int chunk : {0, 3}) {
    BatchDecoder dec(m, tok);
    dec.set_prefill_chunk(chunk);
    const int64_t ib = dec.add(b);
    dec.step();  // b is running when a arrives
    const int64_t ia = dec.add(a);
    while (!dec.finished(ia) || !dec.finished(ib)) dec.step();
    out[chunk ? 1 : 0] = {dec.take(ia).tokens, dec.take(ib).tokens};
  }
  EXPECT_EQ(out[0], out[1]);
  EXPECT_EQ(out[0][0].size(), 5u);
}

// Prefix reuse: a prompt sharing a prefix with a finished sequence's
// prompt (kept) or a running one copies that prefix's KV and decodes the
// same tokens as a decoder that computes everything; another adapter's
// prefix is never reused.
TEST(BatchDecoder, PrefixReuseEqualsRecompute) {
  Model m = model_load(test::model_case_dir("llama"));
  const Tokenizer tok = id_tokenizer();
  const LoraAdapter ad = noisy_adapter(m, 2, 11);
  std::vector<int32_t> header;
  for (int i = 0; i < 9; i++) header.push_back((i * 53 + 3) % 256);
  auto req = [&](std::vector<int32_t> tail, const LoraAdapter* lora) {
    GenerateRequest r;
    r.prompt = header;
    r.prompt.insert(r.prompt.end(), tail.begin(), tail.end());
    r.max_tokens = 6;
    r.eos_ids = {};
    r.lora = lora;
    return r;
  };
  const GenerateRequest first = req({40, 41}, nullptr), second = req({50, 51, 52}, nullptr),
                        third = req({60}, nullptr), tuned = req({50, 51, 52}, &ad);
  auto alone = [&](const GenerateRequest& r) {
    BatchDecoder dec(m, tok);
    const int64_t id = dec.add(r);
    while (!dec.finished(id)) dec.step();
    EXPECT_EQ(dec.n_prefix_reused(), 0);
    return dec.take(id).tokens;
  };
  BatchDecoder dec(m, tok);
  dec.set_prefix_cache(4);
  const int64_t i1 = dec.add(first);
  while (!dec.finished(i1)) dec.step();
  EXPECT_EQ(dec.take(i1).tokens, alone(first));
  EXPECT_EQ(dec.n_prefix_reused(), 0);
  const int64_t i2 = dec.add(second);  // from the kept prompt of `first`
  EXPECT_EQ(dec.n_prefix_reused(), 9);
  dec.step();
  const int64_t i3 = dec.add(third);   // from `second`, running (header + nothing more in common)
  EXPECT_EQ(dec.n_prefix_reused(), 18);
  const int64_t i4 = dec.add(tuned);   // another adapter: computed
  EXPECT_EQ(dec.n_prefix_reused(), 18);
  while (!dec.finished(i2) || !dec.finished(i3) || !dec.finished(i4)) dec.step();
  EXPECT_EQ(dec.take(i2).tokens, alone(second));
  EXPECT_EQ(dec.take(i3).tokens, alone(third));
  EXPECT_EQ(dec.take(i4).tokens, alone(tuned));
  // The whole prompt kept: all but its last token reused.
  const int64_t i5 = dec.add(second);
  EXPECT_EQ(dec.n_prefix_reused(), 18 + 11);
  while (!dec.finished(i5)) dec.step();
  EXPECT_EQ(dec.take(i5).tokens, alone(second));
}

// Log-probabilities: the greedy token is the most likely alternative, and a
// constraint that allows one token forces it.
TEST(BatchDecoder, LogprobsAndConstraint) {
  Model m = model_load(test::model_case_dir("llama"));
  const Tokenizer tok = id_tokenizer();
  BatchDecoder dec(m, tok);
  GenerateRequest r;
  r.prompt = {1, 2, 3};
  r.max_tokens = 4;
  r.top_logprobs = 3;
  const int64_t id = dec.add(r);
  while (!dec.finished(id)) dec.step();
  const GenerateResult g = dec.take(id);
  ASSERT_EQ(g.logprobs.size(), g.tokens.size());
  for (size_t i = 0; i < g.tokens.size(); i++) {
    EXPECT_EQ(g.logprobs[i].token, g.tokens[i]);
    ASSERT_EQ(g.logprobs[i].top.size(), 3u);
    EXPECT_EQ(g.logprobs[i].top[0].first, g.tokens[i]);
    EXPECT_LE(g.logprobs[i].logprob, 0.0f);
    EXPECT_GE(g.logprobs[i].top[0].second, g.logprobs[i].top[1].second);
  }
  r.top_logprobs = -1;
  r.constrain = [](const std::vector<int32_t>& gen, float* logits, int64_t V) {
    for (int64_t v = 0; v < V; v++)
      if (v != 40 + static_cast<int64_t>(gen.size())) logits[v] = -INFINITY;
  };
  r.sampling.temperature = 1.0f;
  const int64_t id2 = dec.add(r);
  while (!dec.finished(id2)) dec.step();
  EXPECT_EQ(dec.take(id2).tokens, (std::vector<int32_t>{40, 41, 42, 43}));
}

}  // namespace
}  // namespace loam
