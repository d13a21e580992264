// tokenizer.json parsing errors name the file and the JSON path of the bad
// field; GGUF pre-tokenizer names and the default pipelines.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace loam {
namespace {

using json = nlohmann::json;

// A tiny valid byte-level-free BPE tokenizer.json.
json tiny() {
  return json::parse(R"({
    "added_tokens": [{"id": 6, "content": "<s>", "special": true, "lstrip": false, "rstrip": false,
                      "single_word": false, "normalized": false}],
    "normalizer": null, "pre_tokenizer": null, "post_processor": null, "decoder": null,
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4, "abc": 5},
              "merges": ["a b", "ab c"]}
  })");
}

// Runs `f`, which must throw loam::Error; returns it.
template <typename F>
Error error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected loam::Error";
  return Error("", "");
}

TEST(TokenizerSpec, TinyParses) {
  const TokenizerSpec spec = tokenizer_spec_from_json(tiny(), "tok.json");
  EXPECT_EQ(spec.vocab.size(), 6u);
  EXPECT_EQ(spec.merges.size(), 2u);
  EXPECT_EQ(spec.merges[1], std::make_pair(std::string("ab"), std::string("c")));
  EXPECT_EQ(spec.added_tokens.size(), 1u);
  EXPECT_EQ(spec.origin, "tok.json");
  Tokenizer tok(spec);
  EXPECT_EQ(tok.encode("abc"), (std::vector<int32_t>{5}));
  EXPECT_EQ(tok.encode("abcab<s>cb"), (std::vector<int32_t>{5, 3, 6, 2, 1}));
  EXPECT_EQ(tok.vocab_size(), 7);
  EXPECT_EQ(tok.decode(std::vector<int32_t>{5, 6, 1}), "abc <s> b");  // no decoder: joined by " "
}

TEST(TokenizerSpec, MergeRankDecides) {
  json j = tiny();
  j["model"]["merges"] = {"b c", "a b", "a bc", "ab c"};
  Tokenizer tok(tokenizer_spec_from_json(j, "tok.json"));
  // "b c" (rank 0) wins over "a b" (rank 1); then "a bc" gives abc.
  EXPECT_EQ(tok.encode("abc"), (std::vector<int32_t>{5}));
  j["model"]["merges"] = {"b c", "a b"};
  Tokenizer tok2(tokenizer_spec_from_json(j, "tok.json"));
  EXPECT_EQ(tok2.encode("abc"), (std::vector<int32_t>{0, 4}));
  EXPECT_EQ(tok2.encode("abab"), (std::vector<int32_t>{3, 3}));
}

TEST(TokenizerSpec, MissingModel) {
  json j = tiny();
  j.erase("model");
  const Error e = error_of([&] { tokenizer_spec_from_json(j, "tok.json"); });
  EXPECT_EQ(e.where(), "tok.json: model");
}

TEST(TokenizerSpec, UnknownPreTokenizerNamesPathAndSupported) {
  json j = tiny();
  j["pre_tokenizer"] = json::parse(R"({"type": "Sequence", "pretokenizers": [
      {"type": "Digits", "individual_digits": true}, {"type": "Whitespace"}]})");
  const Error e = error_of([&] { tokenizer_spec_from_json(j, "tok.json"); });
  EXPECT_EQ(e.where(), "tok.json: pre_tokenizer.pretokenizers[1].type");
  EXPECT_NE(e.message().find("\"Whitespace\""), std::string::npos);
  EXPECT_NE(e.hint().find("Metaspace"), std::string::npos);
}

TEST(TokenizerSpec, UnknownComponentTypes) {
  auto where_for = [](const char* key, const char* value) {
    json j = tiny();
    j[key] = json::parse(value);
    return error_of([&] { tokenizer_spec_from_json(j, "t.json"); }).where();
  };
  EXPECT_EQ(where_for("normalizer", R"({"type": "Sequence", "normalizers": [{"type": "BertNormalizer"}]})"),
            "t.json: normalizer.normalizers[0].type");
  EXPECT_EQ(where_for("decoder", R"({"type": "WordPiece"})"), "t.json: decoder.type");
  EXPECT_EQ(where_for("post_processor", R"({"type": "Nope"})"), "t.json: post_processor.type");
  json j = tiny();
  j["model"]["type"] = "Unigram";
  EXPECT_EQ(error_of([&] { tokenizer_spec_from_json(j, "t.json"); }).where(), "t.json: model.type");
}

TEST(TokenizerSpec, BadFields) {
  json j = tiny();
  j["pre_tokenizer"] = json::parse(R"({"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"})");
  EXPECT_EQ(error_of([&] { tokenizer_spec_from_json(j, "t.json"); }).where(), "t.json: pre_tokenizer.pattern");
  j = tiny();
  j["pre_tokenizer"] = json::parse(R"({"type": "Split", "pattern": {"Regex": "a"}, "behavior": "Sideways"})");
  EXPECT_EQ(error_of([&] { tokenizer_spec_from_json(j, "t.json"); }).where(), "t.json: pre_tokenizer.behavior");
  j = tiny();
  j["added_tokens"][0].erase("content");
  EXPECT_EQ(error_of([&] { tokenizer_spec_from_json(j, "t.json"); }).where(), "t.json: added_tokens[0].content");
  j = tiny();
  j["model"]["vocab"]["a"] = "zero";
  EXPECT_EQ(error_of([&] { tokenizer_spec_from_json(j, "t.json"); }).where(), "t.json: model.vocab[\"a\"]");
  j = tiny();
  j["model"]["unk_token"] = "<unk>";
  EXPECT_EQ(error_of([&] { tokenizer_spec_from_json(j, "t.json"); }).where(), "t.json: model.unk_token");
}

TEST(TokenizerSpec, BadMerges) {
  json j = tiny();
  j["model"]["merges"] = {"a b", "abc"};
  EXPECT_EQ(error_of([&] { tokenizer_spec_from_json(j, "t.json"); }).where(), "t.json: model.merges[1]");
  j["model"]["merges"] = {"a b", 7};
  EXPECT_EQ(error_of([&] { tokenizer_spec_from_json(j, "t.json"); }).where(), "t.json: model.merges[1]");
  j["model"]["merges"] = {"a b", "a x"};
  const TokenizerSpec spec = tokenizer_spec_from_json(j, "t.json");
  const Error e = error_of([&] { Tokenizer t(spec); });
  EXPECT_EQ(e.where(), "t.json: model.merges[1]");
  EXPECT_NE(e.message().find("\"x\""), std::string::npos);
  j["model"]["merges"] = {"b a"};  // "ba" is not in the vocab
  const Error e2 = error_of([&] { Tokenizer t(tokenizer_spec_from_json(j, "t.json")); });
  EXPECT_EQ(e2.where(), "t.json: model.merges[0]");
}

TEST(TokenizerSpec, FromFileErrorsNameThePath) {
  const Error missing = error_of([] { Tokenizer::from_file("/nonexistent/tokenizer.json"); });
  EXPECT_NE(missing.where().find("/nonexistent/tokenizer.json"), std::string::npos);
  const std::string bad = std::string(LOAM_TEST_DATA) + "/tokenizers/README.md";  // not JSON
  EXPECT_EQ(error_of([&] { Tokenizer::from_file(bad); }).where(), bad);
}

TEST(TokenizerSpec, ByteFallbackAndUnk) {
  json j = json::parse(R"({
    "model": {"type": "BPE", "vocab": {"<unk>": 0, "a": 1, "<0xC3>": 2, "<0xA9>": 3, "▁": 4},
              "merges": [], "unk_token": "<unk>", "fuse_unk": true, "byte_fallback": true},
    "decoder": {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}]}
  })");
  Tokenizer tok(tokenizer_spec_from_json(j, "t.json"));
  EXPECT_EQ(tok.encode("a\xC3\xA9" "a"), (std::vector<int32_t>{1, 2, 3, 1}));  // é via its bytes
  EXPECT_EQ(tok.decode(std::vector<int32_t>{1, 2, 3, 1}), "a\xC3\xA9" "a");
  EXPECT_EQ(tok.decode(std::vector<int32_t>{1, 2}), "a\xEF\xBF\xBD");  // a lone byte: U+FFFD
  j["model"]["byte_fallback"] = false;
  Tokenizer unk(tokenizer_spec_from_json(j, "t.json"));
  EXPECT_EQ(unk.encode("a\xC3\xA9\xC3\xA9" "a"), (std::vector<int32_t>{1, 0, 1}));  // fused unk
  j["model"]["fuse_unk"] = false;
  Tokenizer unfused(tokenizer_spec_from_json(j, "t.json"));
  EXPECT_EQ(unfused.encode("a\xC3\xA9\xC3\xA9" "a"), (std::vector<int32_t>{1, 0, 0, 1}));
}

TEST(TokenizerSpec, ScoresGiveMerges) {
  // GGUF SentencePiece vocabularies have scores, not merges.
  TokenizerSpec spec;
  spec.kind = TokenizerKind::SentencePieceBpe;
  spec.vocab = {"a", "b", "c", "ab", "bc", "abc"};
  spec.scores = {0, 0, 0, -2, -1, -3};  // "bc" outranks "ab"
  Tokenizer tok(spec);
  EXPECT_EQ(tok.encode("abc"), (std::vector<int32_t>{5}));
  EXPECT_EQ(tok.encode("ab"), (std::vector<int32_t>{3}));
  spec.vocab = {"a", "b", "c", "ab", "bc", "zzz"};
  Tokenizer tok2(spec);
  EXPECT_EQ(tok2.encode("abc"), (std::vector<int32_t>{0, 4}));
}

TEST(TokenizerSpec, GgufPreRegexes) {
  EXPECT_EQ(tokenizer_pre_regexes_for_gguf("llama-bpe").size(), 1u);
  EXPECT_NE(tokenizer_pre_regexes_for_gguf("llama-bpe")[0].find("\\p{N}{1,3}"), std::string::npos);
  EXPECT_EQ(tokenizer_pre_regexes_for_gguf("smollm").size(), 2u);
  EXPECT_EQ(tokenizer_pre_regexes_for_gguf("gpt2"), tokenizer_pre_regexes_for_gguf("default"));
  const Error e = error_of([] { tokenizer_pre_regexes_for_gguf("klingon"); });
  EXPECT_EQ(e.where(), "tokenizer.ggml.pre");
  EXPECT_NE(e.hint().find("qwen2"), std::string::npos);
}

}  // namespace
}  // namespace loam
