// sacreBLEU's default "13a" tokenizer (mteval-v13a.pl's): removes
// "<skipped>", joins "-\n" line breaks, turns newlines into spaces, decodes
// the HTML entities &quot; &amp; &lt; &gt; (in that order, each pass over the
// whole line), then separates ASCII punctuation except ' , - . from words,
// periods and commas unless between digits, and a dash after a digit;
// finally collapses Unicode whitespace to single spaces. Case is kept.
#pragma once

#include <string>
#include <string_view>

namespace loam {

std::string tokenize_13a(std::string_view line);

}  // namespace loam
