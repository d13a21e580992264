#include "tokenizer/token_index.h"

namespace loam {
namespace {

constexpr uint64_t kEmpty = ~0ull;  // never a key: ids are < 2^31

uint64_t hash_bytes(std::string_view s) {
  // FNV-1a, then a final mix so the low bits (the slot) depend on every byte.
  uint64_t h = 1469598103934665603ull;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  return h ^ (h >> 32);
}

uint64_t hash_key(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  return k ^ (k >> 33);
}

size_t table_size_for(size_t n) {
  size_t size = 16;
  while (size < n * 2) size <<= 1;  // load factor <= 0.5
  return size;
}

}  // namespace

void TokenIndex::build(const std::vector<std::string>& tokens) {
  size_t total = 0;
  for (const std::string& t : tokens) total += t.size();
  arena_.clear();
  arena_.reserve(total);
  offsets_.assign(tokens.size() + 1, 0);
  for (size_t id = 0; id < tokens.size(); ++id) {
    offsets_[id] = static_cast<uint32_t>(arena_.size());
    arena_ += tokens[id];
  }
  offsets_[tokens.size()] = static_cast<uint32_t>(arena_.size());
  const size_t size = table_size_for(tokens.size());
  mask_ = size - 1;
  slots_.assign(size, -1);
  hashes_.assign(size, 0);
  for (size_t id = 0; id < tokens.size(); ++id) {
    if (tokens[id].empty()) continue;
    const uint64_t h = hash_bytes(tokens[id]);
    size_t slot = h & mask_;
    bool duplicate = false;
    while (slots_[slot] >= 0) {
      if (hashes_[slot] == static_cast<uint32_t>(h) && token_at(slots_[slot]) == tokens[id]) {
        duplicate = true;
        break;
      }
      slot = (slot + 1) & mask_;
    }
    if (duplicate) continue;
    slots_[slot] = static_cast<int32_t>(id);
    hashes_[slot] = static_cast<uint32_t>(h);
  }
}

int32_t TokenIndex::find(std::string_view token) const {
  if (slots_.empty()) return -1;
  const uint64_t h = hash_bytes(token);
  for (size_t slot = h & mask_;; slot = (slot + 1) & mask_) {
    const int32_t id = slots_[slot];
    if (id < 0) return -1;
    if (hashes_[slot] == static_cast<uint32_t>(h) && token_at(id) == token) return id;
  }
}

void MergeTable::reserve(size_t n) {
  const size_t size = table_size_for(n);
  if (size <= keys_.size()) return;
  std::vector<uint64_t> old_keys = std::move(keys_);
  std::vector<MergeTarget> old_targets = std::move(targets_);
  keys_.assign(size, kEmpty);
  targets_.assign(size, MergeTarget{0, 0});
  mask_ = size - 1;
  size_ = 0;
  for (size_t i = 0; i < old_keys.size(); ++i)
    if (old_keys[i] != kEmpty)
      insert(static_cast<int32_t>(old_keys[i] >> 32), static_cast<int32_t>(old_keys[i] & 0xffffffffu), old_targets[i]);
}

void MergeTable::grow() { reserve(keys_.empty() ? 8 : keys_.size()); }

void MergeTable::insert(int32_t a, int32_t b, MergeTarget target) {
  if ((size_ + 1) * 2 > keys_.size()) grow();
  const uint64_t k = key(a, b);
  size_t slot = hash_key(k) & mask_;
  while (keys_[slot] != kEmpty && keys_[slot] != k) slot = (slot + 1) & mask_;
  if (keys_[slot] == kEmpty) ++size_;
  keys_[slot] = k;
  targets_[slot] = target;
}

const MergeTarget* MergeTable::find(int32_t a, int32_t b) const {
  if (keys_.empty()) return nullptr;
  const uint64_t k = key(a, b);
  for (size_t slot = hash_key(k) & mask_;; slot = (slot + 1) & mask_) {
    if (keys_[slot] == k) return &targets_[slot];
    if (keys_[slot] == kEmpty) return nullptr;
  }
}

}  // namespace loam
