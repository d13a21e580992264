// Flat open-addressing hash tables for the BPE model's two hot lookups:
// token string -> id (TokenIndex, strings kept in one arena) and token pair ->
// merge (MergeTable). Built once, read-only afterwards (thread-safe reads);
// much faster to build and probe than node-based std::unordered_map at
// vocabulary sizes of 100k-500k.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loam {

class TokenIndex {
 public:
  // Indexes tokens[id] -> id; empty strings are skipped; on duplicates the
  // lowest id wins.
  void build(const std::vector<std::string>& tokens);
  // The id of `token`, or -1.
  int32_t find(std::string_view token) const;

 private:
  std::string_view token_at(int32_t id) const {
    return std::string_view(arena_).substr(offsets_[id], offsets_[id + 1] - offsets_[id]);
  }
  std::string arena_;              // all tokens, concatenated
  std::vector<uint32_t> offsets_;  // token id -> start in arena_ (n + 1 entries)
  std::vector<int32_t> slots_;     // id, or -1 for empty
  std::vector<uint32_t> hashes_;   // low bits of each slot's hash, to skip compares
  size_t mask_ = 0;
};

struct MergeTarget {
  int32_t rank;    // lower merges first
  int32_t new_id;  // the merged token
};

class MergeTable {
 public:
  void reserve(size_t n);
  // Sets the merge of (a, b); a later call for the same pair replaces it.
  void insert(int32_t a, int32_t b, MergeTarget target);
  // The merge of (a, b), or nullptr.
  const MergeTarget* find(int32_t a, int32_t b) const;

 private:
  static uint64_t key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  void grow();
  std::vector<uint64_t> keys_;  // kEmpty for free slots
  std::vector<MergeTarget> targets_;
  size_t size_ = 0;
  size_t mask_ = 0;
};

}  // namespace loam
