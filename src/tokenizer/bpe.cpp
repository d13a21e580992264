#include "tokenizer/bpe.h"

#include <algorithm>
#include <cstdio>
#include <queue>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace loam {
namespace {

constexpr const char* kMetaspace = "\xE2\x96\x81";  // "▁"

size_t last_char_start(std::string_view s) {
  size_t i = s.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return i;
}

struct Symbol {
  int32_t id;
  int32_t prev;  // index of the previous live symbol, -1 none
  int32_t next;  // index of the next symbol, -1 none
  uint32_t len;  // bytes covered; 0 once merged into its left neighbour
};

struct QueuedMerge {
  int32_t rank;
  int32_t pos;
  int32_t new_id;
};

// std::priority_queue pops the "largest": lowest rank, then lowest position.
struct MergeOrder {
  bool operator()(const QueuedMerge& a, const QueuedMerge& b) const {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  }
};

// Merges for vocabularies that only have scores (GGUF SentencePiece): every
// split of a token into two vocab tokens is a merge, higher scores first.
std::vector<std::pair<std::string, std::string>> merges_from_scores(const TokenizerSpec& spec,
                                                                    const TokenIndex& vocab) {
  struct Candidate {
    float score;
    int32_t id;
    size_t split;
  };
  std::vector<Candidate> cands;
  for (size_t id = 0; id < spec.vocab.size() && id < spec.scores.size(); ++id) {
    const std::string& s = spec.vocab[id];
    size_t k = 0;
    while (k < s.size()) {
      k += utf8_char_len(static_cast<unsigned char>(s[k]));
      if (k >= s.size()) break;
      if (vocab.find(std::string_view(s).substr(0, k)) >= 0 && vocab.find(std::string_view(s).substr(k)) >= 0)
        cands.push_back({spec.scores[id], static_cast<int32_t>(id), k});
    }
  }
  std::stable_sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) {
    return a.score != b.score ? a.score > b.score : a.id < b.id;
  });
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(cands.size());
  for (const Candidate& c : cands) {
    const std::string& s = spec.vocab[c.id];
    merges.emplace_back(s.substr(0, c.split), s.substr(c.split));
  }
  return merges;
}

}  // namespace

BpeModel::BpeModel(const TokenizerSpec& spec, const std::string& where)
    : byte_fallback_(spec.byte_fallback),
      unk_id_(spec.unk_id),
      fuse_unk_(spec.fuse_unk),
      ignore_merges_(spec.ignore_merges),
      prefix_(spec.continuing_subword_prefix),
      suffix_(spec.end_of_word_suffix) {
  vocab_.build(spec.vocab);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    byte_ids_[b] = vocab_.find(name);
  }
  const bool derive = spec.merges.empty() && !spec.scores.empty();
  const auto derived = derive ? merges_from_scores(spec, vocab_) : decltype(spec.merges){};
  const auto& merges = derive ? derived : spec.merges;
  merges_.reserve(merges.size());
  const size_t prefix_len = prefix_.size();
  std::string merged;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    auto at = [&] { return where + ".merges[" + std::to_string(rank) + "]"; };
    const int32_t ia = vocab_.find(a), ib = vocab_.find(b);
    if (ia < 0) throw Error(at(), "merge token \"" + a + "\" is not in the vocab");
    if (ib < 0) throw Error(at(), "merge token \"" + b + "\" is not in the vocab");
    merged.assign(a).append(b.size() >= prefix_len ? std::string_view(b).substr(prefix_len) : std::string_view(b));
    const int32_t im = vocab_.find(merged);
    if (im < 0) throw Error(at(), "merged token \"" + merged + "\" is not in the vocab");
    merges_.insert(ia, ib, {static_cast<int32_t>(rank), im});  // a repeated pair: the later wins, as in HF
  }
  init_chunking(merges);
}

void BpeModel::init_chunking(const std::vector<std::pair<std::string, std::string>>& merges) {
  chunk_at_metaspace_ = prefix_.empty() && suffix_.empty() && vocab_.find(kMetaspace) >= 0;
  if (!chunk_at_metaspace_) return;
  for (const auto& [a, b] : merges) {
    if (b.rfind(kMetaspace, 0) != 0 || a.empty()) continue;
    const size_t last = last_char_start(a);
    const std::string c = a.substr(last);
    if (c == kMetaspace) continue;
    if (std::find(glue_chars_.begin(), glue_chars_.end(), c) == glue_chars_.end()) glue_chars_.push_back(c);
  }
}

// End of the chunk starting at `begin`: the next "▁" whose preceding char is
// itself a vocab token (so the symbol before the cut ends with it) and not a
// glue char; or the end of the word.
size_t BpeModel::next_chunk_end(std::string_view word, size_t begin) const {
  const std::string_view ms(kMetaspace);
  size_t prev = begin;  // start of the previous char
  size_t i = begin + utf8_char_len(static_cast<unsigned char>(word[begin]));
  while (i < word.size()) {
    if (word.compare(i, ms.size(), ms) == 0 && word.compare(prev, ms.size(), ms) != 0) {
      const std::string_view c = word.substr(prev, i - prev);
      if (vocab_.find(c) >= 0 && std::find(glue_chars_.begin(), glue_chars_.end(), c) == glue_chars_.end()) return i;
    }
    prev = i;
    i += utf8_char_len(static_cast<unsigned char>(word[i]));
  }
  return word.size();
}

std::optional<int32_t> BpeModel::vocab_id(std::string_view token) const {
  const int32_t id = vocab_.find(token);
  if (id < 0) return std::nullopt;
  return id;
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    if (const int32_t id = vocab_.find(word); id >= 0) {
      out.push_back(id);
      return;
    }
  }
  if (!chunk_at_metaspace_) {
    encode_chunk(word, out);
    return;
  }
  for (size_t begin = 0; begin < word.size();) {
    const size_t end = next_chunk_end(word, begin);
    encode_chunk(word.substr(begin, end - begin), out);
    begin = end;
  }
}

void BpeModel::encode_chunk(std::string_view word, std::vector<int32_t>& out) const {
  const bool cacheable = word.size() <= kCacheMaxWordBytes;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (auto it = cache_.find(word); it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t start = out.size();
  merge_word(word, out);
  if (cacheable) {
    std::vector<int32_t> ids(out.begin() + static_cast<std::ptrdiff_t>(start), out.end());
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (cache_.size() >= kCacheMaxEntries) cache_.clear();
    cache_.emplace(std::string(word), std::move(ids));
  }
}

void BpeModel::merge_word(std::string_view word, std::vector<int32_t>& out) const {
  std::vector<Symbol> syms;
  syms.reserve(word.size());
  auto add = [&](int32_t id, uint32_t len) {
    const int32_t idx = static_cast<int32_t>(syms.size());
    if (idx > 0) syms.back().next = idx;
    syms.push_back({id, idx - 1, -1, len});
  };
  int32_t unk = -1;      // pending unknown run: its id (-1 none) ...
  uint32_t unk_len = 0;  // ... and bytes
  std::string key;
  for (size_t i = 0; i < word.size();) {
    const size_t n = std::min(utf8_char_len(static_cast<unsigned char>(word[i])), word.size() - i);
    const bool first = i == 0, last = i + n == word.size();
    std::string_view s = word.substr(i, n);
    if ((!first && !prefix_.empty()) || (last && !suffix_.empty())) {
      key.assign(first ? "" : prefix_).append(s).append(last ? suffix_ : "");
      s = key;
    }
    i += n;
    if (const int32_t id = vocab_.find(s); id >= 0) {
      if (unk >= 0) add(unk, unk_len), unk = -1;
      add(id, static_cast<uint32_t>(n));
      continue;
    }
    if (byte_fallback_ && std::all_of(s.begin(), s.end(), [&](char c) { return byte_ids_[static_cast<unsigned char>(c)] >= 0; })) {
      for (char c : s) add(byte_ids_[static_cast<unsigned char>(c)], 1);
      continue;
    }
    if (!unk_id_) continue;  // no unk token: the char is dropped
    if (unk >= 0 && fuse_unk_) {
      unk_len += static_cast<uint32_t>(n);
    } else {
      if (unk >= 0) add(unk, unk_len);
      unk = *unk_id_;
      unk_len = static_cast<uint32_t>(n);
    }
  }
  if (unk >= 0) add(unk, unk_len);

  std::priority_queue<QueuedMerge, std::vector<QueuedMerge>, MergeOrder> queue;
  auto lookup = [&](int32_t a, int32_t b) { return merges_.find(a, b); };
  for (size_t k = 0; k + 1 < syms.size(); ++k)
    if (const MergeTarget* m = lookup(syms[k].id, syms[k + 1].id))
      queue.push({m->rank, static_cast<int32_t>(k), m->new_id});
  while (!queue.empty()) {
    const QueuedMerge top = queue.top();
    queue.pop();
    Symbol& cur = syms[top.pos];
    if (cur.len == 0 || cur.next < 0) continue;
    const Symbol right = syms[cur.next];
    const MergeTarget* m = lookup(cur.id, right.id);
    if (!m || m->new_id != top.new_id) continue;  // stale entry
    cur.id = top.new_id;
    cur.len += right.len;
    syms[cur.next].len = 0;
    cur.next = right.next;
    if (right.next >= 0) syms[right.next].prev = top.pos;
    if (cur.prev >= 0) {
      if (const MergeTarget* pm = lookup(syms[cur.prev].id, cur.id))
        queue.push({pm->rank, cur.prev, pm->new_id});
    }
    if (cur.next >= 0) {
      if (const MergeTarget* nm = lookup(cur.id, syms[cur.next].id))
        queue.push({nm->rank, top.pos, nm->new_id});
    }
  }
  for (const Symbol& s : syms)
    if (s.len != 0) out.push_back(s.id);
}

}  // namespace loam
