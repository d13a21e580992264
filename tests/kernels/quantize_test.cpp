// Row conversions: Q8_0 against hand-computed llama.cpp blocks, bf16 against
// the scalar RNE in core/dtype.h over edge cases (ties, NaN, inf, denormals).
#include "kernels/quantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/dtype.h"
#include "kernels/gradcheck.h"

namespace loam {
namespace {

TEST(Q8_0, QuantizesLikeLlamaCpp) {
  // max|x| = 127 -> d = 1 exactly; q = round(x), halves away from zero.
  std::vector<float> x(32, 0.0f);
  x[0] = 127.0f; x[1] = -63.5f; x[2] = 0.5f; x[3] = -0.5f; x[4] = 1.49f; x[5] = -126.6f;
  std::vector<uint8_t> q(34);
  q8_0_quantize_row(x.data(), 32, q.data());
  uint16_t dh;
  std::memcpy(&dh, q.data(), 2);
  EXPECT_EQ(dh, 0x3c00);  // fp16 1.0
  const int8_t want[6] = {127, -64, 1, -1, 1, -127};
  for (int i = 0; i < 6; i++) EXPECT_EQ(static_cast<int8_t>(q[2 + i]), want[i]) << i;
  for (int i = 6; i < 32; i++) EXPECT_EQ(q[2 + i], 0);
}

TEST(Q8_0, ZeroBlockHasZeroScale) {
  std::vector<float> x(64, 0.0f), back(64, 1.0f);
  for (int i = 32; i < 64; i++) x[i] = 0.25f * (i - 48);
  std::vector<uint8_t> q(68);
  q8_0_quantize_row(x.data(), 64, q.data());
  q8_0_dequantize_row(q.data(), 64, back.data());
  for (int i = 0; i < 32; i++) EXPECT_EQ(back[i], 0.0f);
  EXPECT_EQ(q[0], 0);
  EXPECT_EQ(q[1], 0);
}

TEST(Q8_0, RoundTripErrorIsWithinHalfAStep) {
  auto x = test::random_vec(32 * 40, 1, 3.0f);
  std::vector<uint8_t> q(34 * 40);
  std::vector<float> back(x.size());
  q8_0_quantize_row(x.data(), x.size(), q.data());
  q8_0_dequantize_row(q.data(), x.size(), back.data());
  for (size_t b = 0; b < 40; b++) {
    float amax = 0;
    for (int i = 0; i < 32; i++) amax = std::max(amax, std::fabs(x[b * 32 + i]));
    uint16_t dh;
    std::memcpy(&dh, &q[b * 34], 2);
    float d = f16_to_f32(dh);
    EXPECT_NEAR(d, amax / 127.0f, 1e-3 * amax / 127.0f);
    for (int i = 0; i < 32; i++) {
      EXPECT_NEAR(back[b * 32 + i], x[b * 32 + i], 0.5f * d + 1e-3f * amax);
      EXPECT_EQ(back[b * 32 + i], d * static_cast<int8_t>(q[b * 34 + 2 + i]));
    }
  }
}

TEST(Bf16Row, MatchesScalarRneIncludingEdgeCases) {
  std::vector<float> x = test::random_vec(1000, 2, 10.0f);
  const float inf = std::numeric_limits<float>::infinity();
  uint32_t bits[] = {0x3f808000u, 0x3f818000u, 0x3f807fffu, 0x00000001u, 0x807fffffu, 0x7f7fffffu,
                     0x7fc00001u, 0xffa00000u, 0x7f800001u};
  for (uint32_t b : bits) {
    float f;
    std::memcpy(&f, &b, 4);
    x.push_back(f);
  }
  x.push_back(inf);
  x.push_back(-inf);
  x.push_back(-0.0f);
  std::vector<uint16_t> h(x.size());
  f32_to_bf16_row(x.data(), x.size(), h.data());
  for (size_t i = 0; i < x.size(); i++) EXPECT_EQ(h[i], f32_to_bf16(x[i])) << i;
  EXPECT_EQ(h[1000], 0x3f80);  // tie to even (down)
  EXPECT_EQ(h[1001], 0x3f82);  // tie to even (up)
  std::vector<float> back(x.size());
  bf16_to_f32_row(h.data(), h.size(), back.data());
  for (size_t i = 0; i < x.size(); i++) {
    uint32_t u;
    std::memcpy(&u, &back[i], 4);
    EXPECT_EQ(u, static_cast<uint32_t>(h[i]) << 16);
  }
}

TEST(F16Row, WidensExactly) {
  std::vector<uint16_t> h;
  for (uint32_t v = 0; v < 65536; v += 7) h.push_back(static_cast<uint16_t>(v));
  std::vector<float> out(h.size());
  f16_to_f32_row(h.data(), h.size(), out.data());
  for (size_t i = 0; i < h.size(); i++) {
    float want = f16_to_f32(h[i]);
    if (std::isnan(want)) EXPECT_TRUE(std::isnan(out[i]));
    else EXPECT_EQ(out[i], want) << std::hex << h[i];
  }
}

}  // namespace
}  // namespace loam
