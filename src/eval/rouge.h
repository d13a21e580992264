// ROUGE-1, ROUGE-2 and ROUGE-L F-measures as Google's rouge-score package
// computes them by default (RougeScorer(["rouge1","rouge2","rougeL"])):
// tokens are the runs of [a-z0-9] after full Unicode lower-casing (so an
// accented letter splits a word), optionally Porter-stemmed (NLTK's
// PorterStemmer, only tokens longer than 3 characters, as rouge-score does);
// n-gram overlap is clipped per n-gram; ROUGE-L uses the longest common
// subsequence; a side without tokens (or n-grams) scores 0.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace loam {

struct RougeScores {
  double rouge1 = 0, rouge2 = 0, rougeL = 0;  // F-measures in [0, 1]
};

std::vector<std::string> rouge_tokenize(std::string_view text, bool stem);
RougeScores rouge_score(std::string_view prediction, std::string_view reference, bool stem);

}  // namespace loam
