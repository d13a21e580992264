// Chat templates rendered by loam::ChatTemplate against @huggingface/jinja's
// renderings (tests/data/chat_templates/expected.jsonl, made by
// tools/make_chat_template_refs.js): exact equality, and an error wherever
// the reference raised.
#include "tokenizer/chat_template.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "core/error.h"

namespace loam {
namespace {

const std::string kDir = std::string(LOAM_TEST_DATA) + "/chat_templates";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Case {
  std::string template_name;
  std::string case_name;
  nlohmann::ordered_json context;
  bool raises = false;
  std::string expected;  // rendering, or the reference's error message
};

std::vector<Case> load_cases() {
  std::ifstream in(kDir + "/expected.jsonl");
  std::vector<Case> cases;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::ordered_json::parse(line);
    Case c;
    c.template_name = j.at("template").get<std::string>();
    c.case_name = j.at("case").get<std::string>();
    c.context = j.at("context");
    c.raises = j.contains("error");
    c.expected = j.at(c.raises ? "error" : "expected").get<std::string>();
    cases.push_back(std::move(c));
  }
  return cases;
}

// Where two renderings first differ, with some context, for failure messages.
std::string first_difference(const std::string& want, const std::string& got) {
  size_t k = 0;
  while (k < want.size() && k < got.size() && want[k] == got[k]) ++k;
  size_t from = k > 40 ? k - 40 : 0;
  return "first difference at byte " + std::to_string(k) + "\n  want: " +
         nlohmann::json(want.substr(from, 100)).dump() + "\n  got:  " +
         nlohmann::json(got.substr(from, 100)).dump();
}

class ChatTemplateReference : public ::testing::Test {
 protected:
  const ChatTemplate& get(const std::string& name) {
    auto it = templates_.find(name);
    if (it == templates_.end()) {
      std::string path = kDir + "/templates/" + name + ".jinja";
      it = templates_.emplace(name, ChatTemplate::parse(read_text(path), name + ".jinja")).first;
    }
    return it->second;
  }
  std::map<std::string, ChatTemplate> templates_;
};

TEST_F(ChatTemplateReference, AllCasesMatchHuggingFaceJinja) {
  std::vector<Case> cases = load_cases();
  ASSERT_GE(cases.size(), 100u) << "expected.jsonl missing or truncated";
  int n_raising = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.template_name + " / " + c.case_name);
    const ChatTemplate& t = get(c.template_name);
    if (!c.raises) {
      std::string got;
      try {
        got = t.render(c.context);
      } catch (const Error& e) {
        ADD_FAILURE() << "unexpected error: " << e.what();
        continue;
      }
      if (got != c.expected) ADD_FAILURE() << first_difference(c.expected, got);
      continue;
    }
    ++n_raising;
    try {
      std::string got = t.render(c.context);
      ADD_FAILURE() << "reference raised '" << c.expected << "' but we rendered "
                    << nlohmann::json(got).dump();
    } catch (const Error& e) {
      // A raise_exception message is the template's own text: it must match.
      if (t.source().find(c.expected) != std::string::npos) {
        EXPECT_EQ(e.message(), c.expected);
      }
      EXPECT_NE(e.where().find(c.template_name + ".jinja:"), std::string::npos) << e.what();
    }
  }
  EXPECT_GE(n_raising, 10);
}

TEST_F(ChatTemplateReference, RaiseExceptionNamesTemplateLine) {
  const ChatTemplate& t = get("gemma3");
  nlohmann::json ctx = {{"messages", {{{"role", "assistant"}, {"content", "x"}}}},
                        {"bos_token", "<bos>"}};
  try {
    t.render(ctx);
    FAIL() << "expected a raise";
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "Conversation roles must alternate user/assistant/user/assistant/...");
    EXPECT_EQ(e.where(), "gemma3.jinja:19:12");
  }
}

TEST_F(ChatTemplateReference, CopiesShareTheTreeAndRenderConcurrently) {
  ChatTemplate original = get("qwen3");
  ChatTemplate copy = original;
  EXPECT_EQ(&copy.source(), &original.source());
  nlohmann::json ctx = {{"messages", {{{"role", "user"}, {"content", "hi"}}}},
                        {"add_generation_prompt", true}};
  const std::string want = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n";
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      const ChatTemplate& t = k % 2 ? copy : original;
      for (int r = 0; r < 200; ++r) ok[k] += t.render(ctx) == want;
    });
  }
  for (auto& th : threads) th.join();
  for (int k = 0; k < 4; ++k) EXPECT_EQ(ok[k], 200);
}

TEST(ChatTemplate, PlainJsonSortsToolKeysOrderedJsonKeepsThem) {
  ChatTemplate t = ChatTemplate::parse("{{ tool | tojson }}");
  auto ordered = nlohmann::ordered_json::parse(R"({"tool": {"name": "f", "args": 1}})");
  EXPECT_EQ(t.render(ordered), R"({"name": "f", "args": 1})");
  EXPECT_EQ(t.render(nlohmann::json(ordered)), R"({"args": 1, "name": "f"})");
}

}  // namespace
}  // namespace loam
