// chrF exactly as sacreBLEU's default CHRF(): character n-grams of orders
// 1-6 over Unicode code points (not bytes) after removing all Unicode
// whitespace, no word n-grams, beta = 2, case kept. Per order the statistics
// are [hypothesis n-grams (0 when the reference has none of that order),
// reference n-grams, clipped matches], summed over the corpus; precision and
// recall are averaged over the orders where both sides have n-grams
// ("effective order", no eps smoothing), then
// F = (1 + b²)·P·R / (b²·P + R), reported in [0, 100].
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace loam {

constexpr int kChrfOrder = 6;
constexpr double kChrfBeta = 2.0;

struct ChrfStats {  // per order: hyp, ref, match
  std::array<int64_t, kChrfOrder * 3> v{};
  ChrfStats& operator+=(const ChrfStats& o);
};

ChrfStats chrf_segment_stats(std::string_view prediction, std::string_view reference);
double chrf_from_stats(const ChrfStats& s);  // 0-100
double corpus_chrf(const std::vector<std::string_view>& predictions, const std::vector<std::string_view>& references);

}  // namespace loam
