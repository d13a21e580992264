// The BPE model: turns one pre-tokenized word into token ids by splitting it
// into chars (byte fallback <0xNN> or unk for chars not in the vocab) and
// applying merges lowest rank first, ties leftmost first — HF's Word::merge_all,
// a binary heap over a linked list of symbols, O(n log n) in the word length.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/token_index.h"
#include "tokenizer/tokenizer.h"

namespace loam {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class BpeModel {
 public:
  // Builds the vocab and merge tables from `spec` (vocab, merges or scores,
  // byte_fallback, unk, prefixes). Throws loam::Error at `where` for a merge
  // naming a token missing from the vocab.
  BpeModel(const TokenizerSpec& spec, const std::string& where);

  // Appends the ids of `word`. Thread-safe (the cache is behind a mutex).
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  std::optional<int32_t> vocab_id(std::string_view token) const;

 private:
  void encode_chunk(std::string_view chunk, std::vector<int32_t>& out) const;
  void merge_word(std::string_view word, std::vector<int32_t>& out) const;
  void init_chunking(const std::vector<std::pair<std::string, std::string>>& merges);
  size_t next_chunk_end(std::string_view word, size_t begin) const;

  TokenIndex vocab_;
  MergeTable merges_;
  std::array<int32_t, 256> byte_ids_;                 // <0xNN> token ids, -1 missing
  bool byte_fallback_ = false;
  std::optional<int32_t> unk_id_;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
  std::string prefix_, suffix_;
  // SentencePiece words are whole sentences; they are merged in chunks that
  // start at each "▁" run. Exact because no merge joins a symbol ending in
  // char c to one starting with "▁" unless c is in glue_chars_ (computed from
  // the merges; Gemma has ">" + "▁</"), and there the chunk is not cut.
  bool chunk_at_metaspace_ = false;
  std::vector<std::string> glue_chars_;

  static constexpr size_t kCacheMaxWordBytes = 256;
  static constexpr size_t kCacheMaxEntries = 200000;
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache_;  // GUARDED_BY(cache_mu_)
};

}  // namespace loam
