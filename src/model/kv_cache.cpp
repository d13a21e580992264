#include "model/kv_cache.h"

#include <algorithm>

namespace loam {

KvCache::KvCache(const ModelConfig& c, int64_t capacity)
    : n_layers_(c.n_layers),
      capacity_(capacity),
      kv_dim_(c.kv_dim()),
      k_(static_cast<size_t>(c.n_layers) * capacity * c.kv_dim()),
      v_(static_cast<size_t>(c.n_layers) * capacity * c.kv_dim()) {}

void KvCache::grow(int64_t new_capacity) {
  if (new_capacity <= capacity_) return;
  const size_t old_layer = static_cast<size_t>(capacity_ * kv_dim_), new_layer = static_cast<size_t>(new_capacity * kv_dim_);
  for (std::vector<float>* buf : {&k_, &v_}) {
    std::vector<float> grown(static_cast<size_t>(n_layers_) * new_layer);
    for (int64_t l = 0; l < n_layers_; l++)
      std::copy(buf->begin() + l * old_layer, buf->begin() + (l + 1) * old_layer, grown.begin() + l * new_layer);
    buf->swap(grown);
  }
  capacity_ = new_capacity;
}

}  // namespace loam
