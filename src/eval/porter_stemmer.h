// The Porter stemmer exactly as NLTK's PorterStemmer() in its default
// NLTK_EXTENSIONS mode, which is what rouge-score uses for --rouge-stemmer:
// the 1980 algorithm plus NLTK's irregular forms (sky/skies, dying, lying,
// tying, news, innings, outings, cannings, howe, proceed, exceed, succeed),
// words of up to 2 letters left alone, "ies"/"ied" on 4-letter words kept as
// "ie", the (*c and not c) Y -> I rule, ALLI handled recursively, BLI -> BLE,
// FULLI -> FUL and LOGI -> LOG in step 2, and a 2-letter VC word counting as
// *o. Input is one lower-case token (rouge-score passes [a-z0-9]+ tokens).
#pragma once

#include <string>
#include <string_view>

namespace loam {

std::string porter_stem(std::string_view word);

}  // namespace loam
