#include "eval/judge.h"

#include <cctype>

namespace loam {

std::string judge_prompt(std::string_view question, std::string_view reference, std::string_view answer_a,
                         std::string_view answer_b) {
  std::string p =
      "You are grading two answers to the same question. Judge which answer is more correct, complete and "
      "faithful to the reference answer; ignore length and style.\n\n";
  p += "Question:\n" + std::string(question) + "\n\n";
  p += "Reference answer:\n" + std::string(reference) + "\n\n";
  p += "Answer A:\n" + std::string(answer_a) + "\n\n";
  p += "Answer B:\n" + std::string(answer_b) + "\n\n";
  p += "Which answer is better? Reply with exactly one word: A, B, or TIE.";
  return p;
}

JudgeVerdict judge_parse(std::string_view reply) {
  std::string s;
  for (char c : reply) s += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto skip = [&](size_t i) {
    while (i < s.size() && (std::isspace(static_cast<unsigned char>(s[i])) || s[i] == '"' || s[i] == '\'' ||
                            s[i] == '*' || s[i] == ':'))
      i++;
    return i;
  };
  size_t i = skip(0);
  for (std::string_view lead : {"VERDICT", "ANSWER"})
    if (s.compare(i, lead.size(), lead) == 0) i = skip(i + lead.size());
  if (s.compare(i, 3, "TIE") == 0) return JudgeVerdict::Tie;
  if (i < s.size() && (s[i] == 'A' || s[i] == 'B') && (i + 1 == s.size() || !std::isalpha(static_cast<unsigned char>(s[i + 1]))))
    return s[i] == 'A' ? JudgeVerdict::A : JudgeVerdict::B;
  return JudgeVerdict::None;
}

const char* judge_verdict_name(JudgeVerdict v) {
  switch (v) {
    case JudgeVerdict::A: return "A";
    case JudgeVerdict::B: return "B";
    case JudgeVerdict::Tie: return "tie";
    default: return "none";
  }
}

}  // namespace loam
