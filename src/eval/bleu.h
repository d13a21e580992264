// Corpus BLEU exactly as sacreBLEU's default BLEU(): each segment is
// right-stripped (Unicode whitespace) and 13a-tokenized, case kept; n-gram
// orders 1-4 with clipped counts summed over the corpus; "exp" smoothing
// (an order with no match gets precision 100 / (2^k · total), k counting
// such orders); brevity penalty exp(1 - ref/sys) when sys < ref; 0 when
// nothing matches at all. A single corpus-level score in [0, 100], not a
// mean of sentence scores.
//
// sacreBLEU refuses an empty reference; here it is a segment of length 0.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace loam {

constexpr int kBleuOrder = 4;

struct BleuStats {  // a segment's sufficient statistics (sum them for a corpus)
  int64_t sys_len = 0, ref_len = 0;
  std::array<int64_t, kBleuOrder> correct{}, total{};
  BleuStats& operator+=(const BleuStats& o);
};

BleuStats bleu_segment_stats(std::string_view prediction, std::string_view reference);
double bleu_from_stats(const BleuStats& s);  // 0-100
double corpus_bleu(const std::vector<std::string_view>& predictions, const std::vector<std::string_view>& references);

}  // namespace loam
