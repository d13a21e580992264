// Pairwise autorater (--judge MODEL): a local instruct model reads one
// question, the reference answer and two systems' answers, and says which
// answer is better. Each pair is judged in both orders (baseline first, then
// the system first) to cancel position bias.
//
// The prompt (judge_prompt) is a single user turn rendered with the judge's
// chat template; the judge answers greedily in at most 8 tokens. Its verdict
// (judge_parse): after stripping whitespace, quotes, '*' and a leading
// "Answer"/"Verdict:" word, a reply starting with TIE is a tie, one starting
// with the letter A or B (not followed by another letter) picks that answer;
// anything else counts as no verdict (a tie, and counted apart).
// Per example: +1 for each order the system wins, −1 for each it loses;
// a positive sum is a win, a negative one a loss, zero a tie.
#pragma once

#include <string>
#include <string_view>

namespace loam {

enum class JudgeVerdict { A, B, Tie, None };

std::string judge_prompt(std::string_view question, std::string_view reference, std::string_view answer_a,
                         std::string_view answer_b);
JudgeVerdict judge_parse(std::string_view reply);
const char* judge_verdict_name(JudgeVerdict v);  // "A", "B", "tie", "none"

}  // namespace loam
