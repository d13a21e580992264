#include "model/kv_cache.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <utility>

namespace loam {

namespace {

// Address space only (MAP_NORESERVE: no commit charge until touched); a
// pool's reservation stays under this many bytes.
constexpr size_t kMaxReserveBytes = size_t{1} << 38;  // 256 GiB

}  // namespace

KvCache::KvCache(const ModelConfig& c, int64_t capacity, int64_t reserve)
    : n_layers_(c.n_layers), capacity_(capacity), kv_dim_(c.kv_dim()) {
  const int64_t most = row_bytes() == 0 ? reserve : static_cast<int64_t>(kMaxReserveBytes / row_bytes());
  map(std::max(capacity, std::min(reserve, most)), capacity);
}

KvCache::~KvCache() {
  if (base_) munmap(base_, bytes_);
}

KvCache::KvCache(KvCache&& o) noexcept
    : n_layers_(o.n_layers_), capacity_(o.capacity_), kv_dim_(o.kv_dim_), size_(o.size_), reserve_(o.reserve_),
      base_(std::exchange(o.base_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}

KvCache& KvCache::operator=(KvCache&& o) noexcept {
  if (this != &o) {
    if (base_) munmap(base_, bytes_);
    n_layers_ = o.n_layers_, capacity_ = o.capacity_, kv_dim_ = o.kv_dim_, size_ = o.size_, reserve_ = o.reserve_;
    base_ = std::exchange(o.base_, nullptr);
    bytes_ = std::exchange(o.bytes_, 0);
  }
  return *this;
}

// Maps room for `reserve` rows per layer, zeroed and untouched; under strict
// overcommit a large reservation may be refused, so it halves down to `floor`.
void KvCache::map(int64_t reserve, int64_t floor) {
  for (int64_t r = reserve;; r = std::max(floor, r / 2)) {
    const size_t bytes = std::max<size_t>(row_bytes() * static_cast<size_t>(r), 1);
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p != MAP_FAILED) {
      base_ = static_cast<float*>(p);
      bytes_ = bytes;
      reserve_ = r;
      return;
    }
    if (r <= floor) throw std::bad_alloc();
  }
}

void KvCache::grow(int64_t new_capacity) {
  if (new_capacity <= capacity_) return;
  if (new_capacity <= reserve_) {  // the common case: nothing moves
    capacity_ = new_capacity;
    return;
  }
  float* old = base_;
  const size_t old_bytes = bytes_;
  const int64_t old_reserve = reserve_;
  map(std::max(new_capacity, 2 * old_reserve), new_capacity);  // throws with this cache unchanged
  const size_t d = static_cast<size_t>(kv_dim_);
  for (int64_t b = 0; b < 2 * n_layers_; b++)  // each layer's keys, then each layer's values
    std::memcpy(base_ + static_cast<size_t>(b) * reserve_ * d, old + static_cast<size_t>(b) * old_reserve * d,
                static_cast<size_t>(capacity_) * d * sizeof(float));
  capacity_ = new_capacity;
  munmap(old, old_bytes);
}

}  // namespace loam
