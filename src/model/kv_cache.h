// KvCache: the keys and values of one sequence, per layer, after RoPE.
//
// Shapes: k(l), v(l) are (capacity, kv_dim) row-major; rows [0, size()) are
// filled. One cache per sequence; not thread-safe (one owner at a time).
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

 private:
  int64_t capacity_, kv_dim_, size_ = 0;
  std::vector<float> k_, v_;
};

}  // namespace loam
