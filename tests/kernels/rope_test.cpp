#include "kernels/rope.h"

#include <gtest/gtest.h>

#include <cmath>

#include "kernels/gradcheck.h"

namespace loam {
namespace {

TEST(Rope, HalfPairingMatchesRotateHalf) {
  const int64_t T = 3, NH = 2, HD = 8;
  auto x = test::random_vec(T * NH * HD, 1);
  std::vector<float> inv = {1.0f, 0.1f, 0.01f, 0.001f};
  std::vector<int32_t> pos = {0, 5, 17};
  auto y = x;
  rope_forward(y.data(), pos.data(), inv.data(), T, NH, HD, RopePairing::Half);
  for (int64_t t = 0; t < T; t++)
    for (int64_t h = 0; h < NH; h++)
      for (int64_t i = 0; i < HD; i++) {
        // HF: x*cos + rotate_half(x)*sin, with cos/sin of emb = cat(freqs, freqs)
        int64_t f = i % (HD / 2);
        double a = double(float(pos[t]) * inv[f]);
        const float* v = x.data() + (t * NH + h) * HD;
        double rot = i < HD / 2 ? -v[i + HD / 2] : v[i - HD / 2];
        EXPECT_NEAR(y[(t * NH + h) * HD + i], v[i] * std::cos(a) + rot * std::sin(a), 1e-5);
      }
}

TEST(Rope, BackwardIsInverseRotation) {
  const int64_t T = 4, NH = 3, HD = 16;
  std::vector<float> inv(HD / 2);
  for (int i = 0; i < HD / 2; i++) inv[i] = std::pow(10000.0f, -2.0f * i / HD);
  std::vector<int32_t> pos = {0, 1, 2, 100};
  for (RopePairing p : {RopePairing::Half, RopePairing::Interleaved}) {
    auto x = test::random_vec(T * NH * HD, 2);
    auto y = x;
    rope_forward(y.data(), pos.data(), inv.data(), T, NH, HD, p);
    rope_backward(y.data(), pos.data(), inv.data(), T, NH, HD, p);
    for (size_t i = 0; i < x.size(); i++) EXPECT_NEAR(y[i], x[i], 1e-5);
  }
}

}  // namespace
}  // namespace loam
