// KvCache: a store of keys and values, per layer, after RoPE.
//
// Shapes: k(l), v(l) are (capacity, kv_dim) row-major. Used for one sequence
// (rows [0, size()) filled; model_forward) or as a pool in which each
// sequence owns a contiguous range of rows (BatchDecoder; the rows a
// ForwardBatch names). Not thread-safe (one owner at a time).
#pragma once

#include <cstdint>
#include <vector>

#include "model/config.h"

namespace loam {

class KvCache {
 public:
  KvCache(const ModelConfig& c, int64_t capacity);

  int64_t size() const { return size_; }
  int64_t capacity() const { return capacity_; }
  int64_t kv_dim() const { return kv_dim_; }
  float* k(int layer) { return k_.data() + static_cast<size_t>(layer) * capacity_ * kv_dim_; }
  float* v(int layer) { return v_.data() + static_cast<size_t>(layer) * capacity_ * kv_dim_; }
  void set_size(int64_t n) { size_ = n; }  // REQUIRES: n <= capacity()
  void clear() { size_ = 0; }
  // Grows to new_capacity rows (no-op if not larger), keeping every row.
  void grow(int64_t new_capacity);

 private:
  int64_t n_layers_, capacity_, kv_dim_, size_ = 0;
  std::vector<float> k_, v_;
};

}  // namespace loam
