// KvCache as the serving pool uses it: rows kept across growth, within the
// reserved address space (nothing moves) and beyond it (mapped again).
#include "model/kv_cache.h"

#include <gtest/gtest.h>

#include <utility>

namespace loam {
namespace {

ModelConfig small_config() {
  ModelConfig c;
  c.n_layers = 3;
  c.hidden = 32;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 8;
  return c;
}

// Writes a value naming (buffer, layer, row, column) into every row < n.
void fill(KvCache& kv, int layers, int64_t n) {
  const int64_t d = kv.kv_dim();
  for (int l = 0; l < layers; l++)
    for (int64_t r = 0; r < n; r++)
      for (int64_t j = 0; j < d; j++) {
        kv.k(l)[r * d + j] = static_cast<float>(l * 100000 + r * 100 + j);
        kv.v(l)[r * d + j] = -static_cast<float>(l * 100000 + r * 100 + j);
      }
}

void expect_filled(KvCache& kv, int layers, int64_t n) {
  const int64_t d = kv.kv_dim();
  int64_t wrong = 0;
  for (int l = 0; l < layers; l++)
    for (int64_t r = 0; r < n; r++)
      for (int64_t j = 0; j < d; j++) {
        wrong += kv.k(l)[r * d + j] != static_cast<float>(l * 100000 + r * 100 + j);
        wrong += kv.v(l)[r * d + j] != -static_cast<float>(l * 100000 + r * 100 + j);
      }
  EXPECT_EQ(wrong, 0);
}

TEST(KvCache, GrowsInPlaceWithinItsReservation) {
  const ModelConfig c = small_config();
  KvCache kv(c, 4, 64);
  EXPECT_EQ(kv.capacity(), 4);
  EXPECT_EQ(kv.reserved(), 64);
  EXPECT_EQ(kv.kv_dim(), 16);
  fill(kv, c.n_layers, 4);
  float* k0 = kv.k(0);
  kv.grow(40);
  EXPECT_EQ(kv.capacity(), 40);
  EXPECT_EQ(kv.k(0), k0);  // nothing moved
  expect_filled(kv, c.n_layers, 4);
  for (int l = 0; l < c.n_layers; l++)  // new rows read as zero
    for (int64_t i = 4 * 16; i < 40 * 16; i++) ASSERT_EQ(kv.k(l)[i], 0.0f) << l;
  fill(kv, c.n_layers, 40);  // every layer's rows are its own: no overlap
  expect_filled(kv, c.n_layers, 40);
}

TEST(KvCache, GrowsBeyondItsReservationKeepingEveryRow) {
  const ModelConfig c = small_config();
  KvCache kv(c, 5);
  EXPECT_EQ(kv.reserved(), 5);
  fill(kv, c.n_layers, 5);
  kv.grow(37);
  EXPECT_EQ(kv.capacity(), 37);
  EXPECT_GE(kv.reserved(), 37);
  expect_filled(kv, c.n_layers, 5);
  fill(kv, c.n_layers, 37);
  kv.grow(200);
  expect_filled(kv, c.n_layers, 37);
  KvCache moved = std::move(kv);
  EXPECT_EQ(moved.capacity(), 200);
  expect_filled(moved, c.n_layers, 37);
}

}  // namespace
}  // namespace loam
