// Exact match and token-level F1, as the SQuAD evaluation script defines
// them (one prediction, one reference; each in [0, 1]).
#pragma once

#include <string_view>

namespace loam {

// 1 when the texts are equal after stripping surrounding Unicode whitespace
// (how the seed compared answers), else 0.
double exact_match(std::string_view prediction, std::string_view reference);
// 1 when squad_normalize() of both are equal, else 0.
double exact_match_normalized(std::string_view prediction, std::string_view reference);
// SQuAD token F1 over squad_normalize()d whitespace tokens, overlap clipped
// per token (Counter intersection). When either side has no tokens the score
// is 1 if both are empty, else 0 (SQuAD v2.0's rule; v1.1 scored both-empty
// as 0).
double token_f1(std::string_view prediction, std::string_view reference);

}  // namespace loam
