// Every dataset format: a good record parses to the expected Example, bad
// records give the exact FILE:LINE:FIELD: message.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "data/dataset_test_util.h"

namespace loam {
namespace {

using ::testing::ElementsAre;
using testing::scan_text;

TEST(Formats, InputTextOutputText) {
  auto s = scan_text(R"({"input_text":"How do I reset?","output_text":"Open Settings."})"
                     "\n"
                     R"({"input_text":"","output_text":42})"
                     "\n"
                     R"({"input_text":"q"})"
                     "\n");
  ASSERT_EQ(s.examples.size(), 1u);
  EXPECT_EQ(*s.report.format, Format::InputTextOutputText);
  const Example& e = s.examples[0];
  ASSERT_EQ(e.turns.size(), 2u);
  EXPECT_EQ(e.turns[0].role, Role::User);
  EXPECT_EQ(e.turns[0].text, "How do I reset?");
  EXPECT_EQ(e.turns[1].role, Role::Assistant);
  EXPECT_EQ(e.turns[1].text, "Open Settings.");
  EXPECT_THAT(s.issues, ElementsAre("t.jsonl:2:input_text: is empty",
                                    "t.jsonl:2:output_text: expected a string, got a number (42)",
                                    "t.jsonl:3:output_text: missing required field"));
  EXPECT_EQ(s.report.n_errors, 3u);
  EXPECT_EQ(s.report.n_records, 3u);
}

TEST(Formats, PromptCompletionAndTypoHint) {
  auto s = scan_text(R"({"prompt":"a","completion":"b"})"
                     "\n"
                     R"({"prompt":"a","complition":"b"})"
                     "\n");
  EXPECT_EQ(*s.report.format, Format::PromptCompletion);
  EXPECT_THAT(s.issues,
              ElementsAre("t.jsonl:2:completion: missing required field",
                          "t.jsonl:2:complition: warning: unknown field, ignored (did you mean \"completion\"?)"));
}

TEST(Formats, InstructionInputOutput) {
  auto s = scan_text(R"({"instruction":"Summarize","input":"Long text","output":"Short"})"
                     "\n"
                     R"({"instruction":"Say hi","input":"","output":"hi"})"
                     "\n"
                     R"({"instruction":"x","input":7,"output":"y"})"
                     "\n");
  ASSERT_EQ(s.examples.size(), 2u);
  EXPECT_EQ(s.examples[0].turns[0].text, "Summarize\n\nLong text");
  EXPECT_EQ(s.examples[1].turns[0].text, "Say hi");
  EXPECT_THAT(s.issues, ElementsAre("t.jsonl:3:input: expected a string, got a number (7)"));
}

TEST(Formats, ClassificationCountsLabels) {
  auto s = scan_text(R"({"text":"app crashes","label":"bug"})"
                     "\n"
                     R"({"text":"bill twice","label":"billing"})"
                     "\n"
                     R"({"text":"crash again","label":"bug"})"
                     "\n"
                     R"({"text":"numeric","label":3})"
                     "\n"
                     R"({"text":"bad","label":["x"]})"
                     "\n");
  EXPECT_EQ(*s.report.format, Format::TextLabel);
  EXPECT_EQ(s.report.labels.at("bug"), 2u);
  EXPECT_EQ(s.report.labels.at("billing"), 1u);
  EXPECT_EQ(s.report.labels.at("3"), 1u);
  ASSERT_EQ(s.examples.size(), 4u);
  EXPECT_EQ(s.examples[0].turns[1].text, "bug");
  EXPECT_THAT(s.issues, ElementsAre("t.jsonl:5:label: expected a string, got an array"));
}

TEST(Formats, ChatContents) {
  auto s = scan_text(
      R"({"systemInstruction":{"parts":[{"text":"Be brief."}]},"contents":[{"role":"user","parts":[{"text":"Hi"}]},{"role":"model","parts":[{"text":"Hel"},{"text":"lo"}]}]})"
      "\n"
      R"({"contents":[{"role":"user","parts":[{"text":"a"}]},{"role":"assistant","parts":[{"text":"b"}]}]})"
      "\n"
      R"({"contents":[{"role":"user","parts":[{"text":"a"}]},{"role":"model","parts":[{"text":"b"}]},{"role":"user","parts":[{"text":1}]}]})"
      "\n"
      R"({"contents":[{"role":"user","parts":[{"text":"a"}]},{"role":"user","parts":[{"text":"b"}]}]})"
      "\n"
      R"({"contents":[{"role":"user","parts":[{"text":"a"}]},{"role":"model","parts":[{"text":"b"}]},{"role":"user","parts":[{"text":"c"}]}]})"
      "\n"
      R"({"contents":[{"role":"user","parts":[{"inlineData":{}}]},{"role":"model","parts":[{"text":""}]}]})"
      "\n");
  ASSERT_EQ(s.examples.size(), 1u);
  const Example& e = s.examples[0];
  ASSERT_EQ(e.turns.size(), 3u);
  EXPECT_EQ(e.turns[0].role, Role::System);
  EXPECT_EQ(e.turns[0].text, "Be brief.");
  EXPECT_EQ(e.turns[2].text, "Hello");
  EXPECT_THAT(s.issues,
              ElementsAre("t.jsonl:2:contents[1].role: unknown role \"assistant\" (expected user or model)",
                          "t.jsonl:3:contents[2].parts[0].text: expected a string, got a number (1)",
                          "t.jsonl:4:contents[1].role: turns out of order: expected a model turn, got user (turns "
                          "alternate user, model, starting with user)",
                          "t.jsonl:5:contents: the conversation ends on a user turn; a training example must end on "
                          "a model turn",
                          "t.jsonl:6:contents[0].parts[0].text: missing required field; only text parts are "
                          "supported (got \"inlineData\")",
                          "t.jsonl:6:contents[1].parts[0].text: is empty"));
}

TEST(Formats, ChatMessagesWithWeights) {
  auto s = scan_text(
      R"({"messages":[{"role":"system","content":"S"},{"role":"user","content":"u1"},{"role":"assistant","content":"a1","weight":0},{"role":"user","content":"u2"},{"role":"assistant","content":[{"type":"text","text":"a2"}]}]})"
      "\n"
      R"({"messages":[{"role":"user","content":"u"},{"role":"bot","content":"b"}]})"
      "\n"
      R"({"messages":[{"role":"user","content":"u"},{"role":"assistant","content":"a","weight":2}]})"
      "\n"
      R"({"messages":[{"role":"user","content":"u"},{"role":"assistant","content":"a","weight":0}]})"
      "\n"
      R"({"messages":[{"role":"user","content":"u"},{"role":"system","content":"s"},{"role":"assistant","content":"a"}]})"
      "\n"
      R"({"messages":[]})"
      "\n");
  ASSERT_EQ(s.examples.size(), 1u);
  const Example& e = s.examples[0];
  ASSERT_EQ(e.turns.size(), 5u);
  EXPECT_FALSE(e.turns[2].trained);
  EXPECT_TRUE(e.turns[4].trained);
  EXPECT_EQ(e.turns[4].text, "a2");
  EXPECT_THAT(s.issues,
              ElementsAre("t.jsonl:2:messages[1].role: unknown role \"bot\" (expected system, user or assistant)",
                          "t.jsonl:3:messages[1].weight: must be 0 or 1, got a number (2)",
                          "t.jsonl:4:messages: every assistant turn has weight 0, so nothing would be trained",
                          "t.jsonl:5:messages[1].role: a system message is only allowed as the first message",
                          "t.jsonl:6:messages: is an empty array"));
}

TEST(Formats, PreferenceInputText) {
  auto s = scan_text(R"({"input_text":"q","preferred_output":"good","rejected_output":"bad"})"
                     "\n"
                     R"({"input_text":"q","preferred_output":"same","rejected_output":"same"})"
                     "\n");
  EXPECT_EQ(*s.report.format, Format::PrefInputText);
  ASSERT_EQ(s.examples.size(), 1u);
  EXPECT_EQ(s.examples[0].chosen.at(0).text, "good");
  EXPECT_EQ(s.examples[0].rejected.at(0).text, "bad");
  EXPECT_THAT(s.issues, ElementsAre("t.jsonl:2:rejected_output: is identical to preferred_output; a preference "
                                    "pair needs two different answers"));
}

TEST(Formats, PreferencePromptChosenStringsAndLists) {
  auto s = scan_text(
      R"({"prompt":"q","chosen":"good","rejected":"bad"})"
      "\n"
      R"({"prompt":[{"role":"system","content":"s"},{"role":"user","content":"q"}],"chosen":[{"role":"assistant","content":"g"}],"rejected":[{"role":"assistant","content":"b"}]})"
      "\n"
      R"({"prompt":[{"role":"user","content":"q"},{"role":"assistant","content":"x"}],"chosen":"g","rejected":"b"})"
      "\n"
      R"({"prompt":"q","chosen":[{"role":"user","content":"g"}],"rejected":"b"})"
      "\n");
  EXPECT_EQ(*s.report.format, Format::PrefPromptChosen);
  ASSERT_EQ(s.examples.size(), 2u);
  EXPECT_EQ(s.examples[1].turns.size(), 2u);
  EXPECT_EQ(s.examples[1].turns[0].role, Role::System);
  EXPECT_THAT(s.issues, ElementsAre("t.jsonl:3:prompt: the prompt ends on an assistant turn; a preference prompt "
                                    "must end on a user turn",
                                    "t.jsonl:4:chosen[0].role: a completion holds only assistant messages, got user"));
}

TEST(Formats, PreferenceOpenAiDpo) {
  auto s = scan_text(
      R"({"input":{"messages":[{"role":"user","content":"q"}]},"preferred_output":[{"role":"assistant","content":"g"}],"non_preferred_output":[{"role":"assistant","content":"b"}]})"
      "\n"
      R"({"input":{"messages":[{"role":"user","content":"q"}]},"preferred_output":"g","non_preferred_output":[{"role":"assistant","content":"b"}]})"
      "\n");
  EXPECT_EQ(*s.report.format, Format::PrefInputMessages);
  ASSERT_EQ(s.examples.size(), 1u);
  EXPECT_EQ(s.examples[0].chosen.at(0).text, "g");
  EXPECT_THAT(s.issues, ElementsAre("t.jsonl:2:preferred_output: expected a list of assistant messages, got a "
                                    "string (\"g\")"));
}

TEST(Formats, PreferenceContentsCompletions) {
  auto s = scan_text(
      R"({"contents":[{"role":"user","parts":[{"text":"q"}]}],"completions":[{"score":0,"completion":{"role":"model","parts":[{"text":"bad"}]}},{"score":1,"completion":{"role":"model","parts":[{"text":"good"}]}}]})"
      "\n"
      R"({"contents":[{"role":"user","parts":[{"text":"q"}]}],"completions":[{"score":1,"completion":{"role":"model","parts":[{"text":"x"}]}}]})"
      "\n"
      R"({"contents":[{"role":"user","parts":[{"text":"q"}]}],"completions":[{"score":"1","completion":{"role":"user","parts":[{"text":"x"}]}},{"score":0,"completion":{"role":"model","parts":[{"text":"y"}]}}]})"
      "\n");
  EXPECT_EQ(*s.report.format, Format::PrefContentsCompletions);
  ASSERT_EQ(s.examples.size(), 1u);
  EXPECT_EQ(s.examples[0].chosen.at(0).text, "good");
  EXPECT_EQ(s.examples[0].rejected.at(0).text, "bad");
  EXPECT_THAT(s.issues, ElementsAre("t.jsonl:2:completions: must hold exactly 2 completions (score 1 = preferred, "
                                    "score 0 = rejected), got 1",
                                    "t.jsonl:3:completions[0].score: expected a number, got a string (\"1\")",
                                    "t.jsonl:3:completions[0].completion.role: a completion's role must be "
                                    "\"model\", got a string (\"user\")"));
}

TEST(Formats, PretokenizedSftAndVocabulary) {
  DatasetOptions opt;
  opt.vocab_size = 100;
  auto s = scan_text(R"({"input_ids":[1,2,3],"labels":[-100,2,3]})"
                     "\n"
                     R"({"input_ids":[1,200,3],"labels":[-100,2,3]})"
                     "\n"
                     R"({"input_ids":[1,2],"labels":[-100]})"
                     "\n"
                     R"({"input_ids":[1,"2"],"labels":[-100,-100]})"
                     "\n"
                     R"({"input_ids":[1,2],"labels":[-100,-100]})"
                     "\n"
                     R"({"input_ids":[1,2],"labels":[-5,2]})"
                     "\n",
                     opt);
  ASSERT_EQ(s.examples.size(), 1u);
  EXPECT_EQ(s.examples[0].labels, (std::vector<int32_t>{-100, 2, 3}));
  EXPECT_THAT(s.issues,
              ElementsAre("t.jsonl:2:input_ids[1]: token id 200 is out of the vocabulary (size 100)",
                          "t.jsonl:3:labels: has 1 entries but input_ids has 2",
                          "t.jsonl:4:input_ids[1]: expected an integer token id, got a string (\"2\")",
                          "t.jsonl:5:labels: every label is -100, so nothing would be trained",
                          "t.jsonl:6:labels[0]: token id -5 is negative (only -100 marks an unscored token)"));
}

TEST(Formats, PretokenizedPreference) {
  auto s = scan_text(R"({"prompt_ids":[1,2],"chosen_ids":[3],"rejected_ids":[4]})"
                     "\n"
                     R"({"prompt_ids":[1,2],"chosen_ids":[3],"rejected_ids":[3]})"
                     "\n");
  EXPECT_EQ(*s.report.format, Format::TokensPreference);
  ASSERT_EQ(s.examples.size(), 1u);
  EXPECT_THAT(s.issues, ElementsAre("t.jsonl:2:rejected_ids: is identical to chosen_ids; a preference pair needs "
                                    "two different answers"));
}

TEST(Formats, MixedFormatsInOneFile) {
  auto s = scan_text(R"({"input_text":"a","output_text":"b"})"
                     "\n"
                     R"({"messages":[{"role":"user","content":"u"},{"role":"assistant","content":"a"}]})"
                     "\n");
  EXPECT_THAT(s.issues, ElementsAre("t.jsonl:2: this record is in the messages format but the file is in the "
                                    "input_text/output_text format (set by line 1); use one format per file"));
}

TEST(Formats, TaskMismatch) {
  DatasetOptions opt;
  opt.task = Task::Preference;
  auto s = scan_text(R"({"input_text":"a","output_text":"b"})"
                     "\n",
                     opt);
  EXPECT_THAT(s.issues, ElementsAre("t.jsonl:1: the file is in the input_text/output_text format, which is for sft "
                                    "tuning, not preference"));
  opt.task = Task::Sft;  // classification data tunes as SFT too
  EXPECT_TRUE(scan_text(R"({"text":"a","label":"b"})", opt).report.ok());
}

TEST(Formats, UnknownFormatAndNonObjects) {
  auto s = scan_text("{\"foo\":1}\n[1,2]\n\"str\"\n");
  ASSERT_EQ(s.issues.size(), 3u);
  EXPECT_THAT(s.issues[0], ::testing::StartsWith("t.jsonl:1: cannot tell the dataset format from the fields {foo}"));
  EXPECT_EQ(s.issues[1], "t.jsonl:2: expected a JSON object (one example per line), got an array");
  EXPECT_EQ(s.issues[2], "t.jsonl:3: expected a JSON object (one example per line), got a string (\"str\")");
}

TEST(Formats, DuplicatesAreWarnings) {
  auto s = scan_text(R"({"input_text":"a","output_text":"b"})"
                     "\n"
                     R"({"output_text":"b", "input_text":"a"})"
                     "\n");
  EXPECT_TRUE(s.report.ok());
  EXPECT_EQ(s.report.n_duplicates, 1u);
  EXPECT_EQ(s.report.n_warnings, 1u);
  EXPECT_THAT(s.issues, ElementsAre("t.jsonl:2: warning: duplicate of the example on line 1"));
}

TEST(Formats, CanonicalJsonRoundTrips) {
  auto s = scan_text(
      R"({"contents":[{"role":"user","parts":[{"text":"q"}]},{"role":"model","parts":[{"text":"a"}]}]})"
      "\n");
  ASSERT_EQ(s.examples.size(), 1u);
  nlohmann::json j = example_to_json(s.examples[0]);
  EXPECT_EQ(j.dump(), R"({"messages":[{"content":"q","role":"user"},{"content":"a","role":"assistant"}]})");
  auto again = scan_text(j.dump());
  ASSERT_EQ(again.examples.size(), 1u);
  EXPECT_EQ(again.examples[0].turns[1].text, "a");
}

}  // namespace
}  // namespace loam
