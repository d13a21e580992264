#include "model/kv_cache.h"

namespace loam {

KvCache::KvCache(const ModelConfig& c, int64_t capacity)
    : capacity_(capacity),
      kv_dim_(c.kv_dim()),
      k_(static_cast<size_t>(c.n_layers) * capacity * c.kv_dim()),
      v_(static_cast<size_t>(c.n_layers) * capacity * c.kv_dim()) {}

}  // namespace loam
