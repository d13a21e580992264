// Tokenizer: the HF encode/decode pipeline over the parts in this folder
// (added_vocab, normalizer, pre_tokenizer, bpe, decoder).
#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "tokenizer/added_vocab.h"
#include "tokenizer/bpe.h"
#include "tokenizer/decoder.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/utf8.h"

namespace loam {

class TokenizerImpl {
 public:
  explicit TokenizerImpl(TokenizerSpec s)
      : spec(std::move(s)),
        normalizer(spec.normalizer, spec.origin + ": normalizer"),
        pre_tokenizer(spec.pre_tokenizer, spec.origin + ": pre_tokenizer"),
        bpe(spec, spec.origin + ": model"),
        decoder(spec.decoder, spec.origin + ": decoder") {
    std::vector<AddedToken> raw, norm;
    std::vector<std::string> raw_patterns, norm_patterns;
    // HF searches special tokens first, then the others, each in file order.
    for (bool special : {true, false}) {
      for (const AddedToken& t : spec.added_tokens) {
        if (t.special != special) continue;
        if (t.normalized) {
          norm.push_back(t);
          norm_patterns.push_back(normalizer.apply(t.content));
        } else {
          raw.push_back(t);
          raw_patterns.push_back(t.content);
        }
      }
    }
    raw_matcher = AddedTokenMatcher(std::move(raw), raw_patterns);
    norm_matcher = AddedTokenMatcher(std::move(norm), norm_patterns);
    n_vocab = static_cast<int32_t>(spec.vocab.size());
    for (size_t i = 0; i < spec.added_tokens.size(); ++i) {
      const AddedToken& t = spec.added_tokens[i];
      added_by_id[t.id] = i;
      added_by_content.emplace(t.content, t.id);
      n_vocab = std::max(n_vocab, t.id + 1);
    }
  }

  void encode_text(const std::string& piece, bool at_origin, std::vector<int32_t>& ids) const;

  TokenizerSpec spec;
  Normalizer normalizer;
  PreTokenizer pre_tokenizer;
  BpeModel bpe;
  Decoder decoder;
  AddedTokenMatcher raw_matcher, norm_matcher;
  std::unordered_map<int32_t, size_t> added_by_id;  // id -> index in spec.added_tokens
  std::unordered_map<std::string, int32_t> added_by_content;
  int32_t n_vocab = 0;
};

// One piece of text between raw-matched added tokens: normalize, split out
// normalized added tokens, pre-tokenize, merge each word.
void TokenizerImpl::encode_text(const std::string& piece, bool at_origin, std::vector<int32_t>& ids) const {
  const std::string norm = normalizer.empty() ? piece : normalizer.apply(piece);
  std::vector<PreToken> words;
  for (const TextSegment& seg : norm_matcher.split(norm)) {
    if (seg.token_id >= 0) {
      ids.push_back(seg.token_id);
      continue;
    }
    words.clear();
    pre_tokenizer.apply({norm.substr(seg.begin, seg.end - seg.begin), at_origin && seg.begin == 0}, words);
    for (const PreToken& w : words) bpe.encode_word(w.text, ids);
  }
}

Tokenizer Tokenizer::from_file(const std::string& path) {
  const std::string text = file_read_all(path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(path, std::string("invalid JSON: ") + e.what());
  }
  return Tokenizer(tokenizer_spec_from_json(j, path));
}

Tokenizer::Tokenizer(TokenizerSpec spec) : impl_(std::make_shared<const TokenizerImpl>(std::move(spec))) {}

std::vector<int32_t> Tokenizer::encode(std::string_view input, bool add_special_tokens) const {
  const TokenizerImpl& t = *impl_;
  const std::string text = utf8_valid(input) ? std::string(input) : utf8_lossy(input);
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  if (add_special_tokens) ids = t.spec.prefix_ids;
  for (const TextSegment& seg : t.raw_matcher.split(text)) {
    if (seg.token_id >= 0) ids.push_back(seg.token_id);
    else t.encode_text(text.substr(seg.begin, seg.end - seg.begin), seg.begin == 0, ids);
  }
  if (add_special_tokens) ids.insert(ids.end(), t.spec.suffix_ids.begin(), t.spec.suffix_ids.end());
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  const TokenizerImpl& t = *impl_;
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (auto it = t.added_by_id.find(id); it != t.added_by_id.end()) {
      const AddedToken& a = t.spec.added_tokens[it->second];
      if (!(skip_special_tokens && a.special)) tokens.push_back(a.content);
    } else if (id >= 0 && id < static_cast<int32_t>(t.spec.vocab.size()) && !t.spec.vocab[id].empty()) {
      tokens.push_back(t.spec.vocab[id]);
    }
  }
  return t.decoder.apply(std::move(tokens));
}

int32_t Tokenizer::vocab_size() const { return impl_->n_vocab; }

std::optional<int32_t> Tokenizer::token_id(std::string_view token) const {
  if (auto it = impl_->added_by_content.find(std::string(token)); it != impl_->added_by_content.end())
    return it->second;
  return impl_->bpe.vocab_id(token);
}

const std::string& Tokenizer::token_text(int32_t id) const {
  const TokenizerImpl& t = *impl_;
  if (auto it = t.added_by_id.find(id); it != t.added_by_id.end()) return t.spec.added_tokens[it->second].content;
  if (id < 0 || id >= t.n_vocab)
    throw Error("tokenizer", "token id " + std::to_string(id) + " out of range [0, " + std::to_string(t.n_vocab) + ")");
  static const std::string kNone;
  return id < static_cast<int32_t>(t.spec.vocab.size()) ? t.spec.vocab[id] : kNone;
}

bool Tokenizer::is_special(int32_t id) const {
  auto it = impl_->added_by_id.find(id);
  return it != impl_->added_by_id.end() && impl_->spec.added_tokens[it->second].special;
}

const TokenizerSpec& Tokenizer::spec() const { return impl_->spec; }

}  // namespace loam
