// KvCache: a store of keys and values, per layer, after RoPE.
//
// Shapes: k(l), v(l) are (capacity, kv_dim) row-major. Used for one sequence
// (rows [0, size()) filled; model_forward) or as a pool in which each
// sequence owns a contiguous range of rows (BatchDecoder; the rows a
// ForwardBatch names). Not thread-safe (one owner at a time).
//
// Storage is one anonymous mapping with room for `reserve` rows per layer,
// of which the first `capacity` are in use: memory is touched only where
// rows are written, and growing within the reservation moves nothing. (On
// the VMs this runs on, first touching memory costs about 2 ms per MB;
// growing a pool by allocating a larger zeroed copy stalled a serving
// scheduler for 0.3 s.) Beyond the reservation it is mapped again, larger.
#pragma once

#include <cstddef>
#include <cstdint>

#include "model/config.h"

namespace loam {

class KvCache {
 public:
  // reserve: rows of address space per layer to set aside (at least
  // capacity); a pool that grows asks for many, a fixed cache for none.
  KvCache(const ModelConfig& c, int64_t capacity, int64_t reserve = 0);
  ~KvCache();
  KvCache(KvCache&& o) noexcept;
  KvCache& operator=(KvCache&& o) noexcept;
  KvCache(const KvCache&) = delete;
  KvCache& operator=(const KvCache&) = delete;

  int64_t size() const { return size_; }
  int64_t capacity() const { return capacity_; }
  int64_t reserved() const { return reserve_; }
  int64_t kv_dim() const { return kv_dim_; }
  float* k(int layer) { return base_ + static_cast<size_t>(layer) * reserve_ * kv_dim_; }
  float* v(int layer) { return base_ + static_cast<size_t>(n_layers_ + layer) * reserve_ * kv_dim_; }
  void set_size(int64_t n) { size_ = n; }  // REQUIRES: n <= capacity()
  void clear() { size_ = 0; }
  // Grows to new_capacity rows (no-op if not larger), keeping every row.
  void grow(int64_t new_capacity);

 private:
  void map(int64_t reserve, int64_t floor);  // sets base_, bytes_, reserve_
  size_t row_bytes() const {  // one row of keys and values over all layers
    return 2 * static_cast<size_t>(n_layers_) * static_cast<size_t>(kv_dim_) * sizeof(float);
  }

  int64_t n_layers_, capacity_ = 0, kv_dim_, size_ = 0;
  int64_t reserve_ = 0;
  float* base_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace loam
