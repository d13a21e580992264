#include "tokenizer/pre_tokenizer.h"

#include <algorithm>

#include "tokenizer/byte_level.h"
#include "tokenizer/normalizer.h"

namespace loam {
namespace {

// GPT-2's split regex, used by ByteLevel when use_regex is set.
constexpr const char* kGpt2Regex =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

struct Span {
  size_t begin, end;
  bool flag;  // is_match, then should_remove
};

// Matches and the gaps between them, covering [0, size).
std::vector<Span> cover_with_matches(size_t size, const std::vector<std::pair<size_t, size_t>>& matches,
                                     bool invert) {
  std::vector<Span> spans;
  if (size == 0) return {{0, 0, invert}};
  size_t prev = 0;
  for (auto [b, e] : matches) {
    if (prev != b) spans.push_back({prev, b, invert});
    spans.push_back({b, e, !invert});
    prev = e;
  }
  if (prev != size) spans.push_back({prev, size, invert});
  return spans;
}

}  // namespace

std::vector<std::pair<size_t, size_t>> split_ranges(
    size_t size, const std::vector<std::pair<size_t, size_t>>& matches, SplitBehavior behavior,
    bool invert) {
  std::vector<Span> spans = cover_with_matches(size, matches, invert);
  std::vector<Span> kept;  // flag = remove
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::Isolated:
      for (const Span& s : spans) kept.push_back({s.begin, s.end, false});
      break;
    case SplitBehavior::Removed:
      kept = spans;
      break;
    case SplitBehavior::Contiguous:
      for (const Span& s : spans) {
        if (s.flag == previous_match && !kept.empty()) kept.back().end = s.end;
        else kept.push_back({s.begin, s.end, false});
        previous_match = s.flag;
      }
      break;
    case SplitBehavior::MergedWithPrevious:
      for (const Span& s : spans) {
        if (s.flag && !previous_match && !kept.empty()) kept.back().end = s.end;
        else kept.push_back({s.begin, s.end, false});
        previous_match = s.flag;
      }
      break;
    case SplitBehavior::MergedWithNext:
      for (size_t i = spans.size(); i-- > 0;) {
        const Span& s = spans[i];
        if (s.flag && !previous_match && !kept.empty()) kept.back().begin = s.begin;
        else kept.push_back({s.begin, s.end, false});
        previous_match = s.flag;
      }
      std::reverse(kept.begin(), kept.end());
      break;
  }
  std::vector<std::pair<size_t, size_t>> out;
  for (const Span& s : kept)
    if (!s.flag) out.emplace_back(s.begin, s.end);
  return out;
}

PreTokenizer::PreTokenizer(const std::vector<PreTokenizerStep>& steps, const std::string& where) {
  for (size_t i = 0; i < steps.size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    Step s{steps[i], {}};
    switch (s.spec.type) {
      case PreTokenizerType::Split:
        s.matcher = TextMatcher(s.spec.pattern, at + ".pattern");
        break;
      case PreTokenizerType::ByteLevel:
        if (s.spec.use_regex) s.matcher = TextMatcher({true, kGpt2Regex}, at);
        break;
      case PreTokenizerType::Metaspace:
        s.matcher = TextMatcher({false, s.spec.replacement}, at + ".replacement");
        break;
      case PreTokenizerType::Digits:
        s.matcher = TextMatcher({true, "\\p{N}"}, at);
        break;
    }
    steps_.push_back(std::move(s));
  }
}

void PreTokenizer::apply(PreToken piece, std::vector<PreToken>& out) const {
  std::vector<PreToken> words;
  if (!piece.text.empty()) words.push_back(std::move(piece));
  std::vector<PreToken> next;
  for (const Step& step : steps_) {
    next.clear();
    for (PreToken& w : words) apply_step(step, std::move(w), next);
    words.swap(next);
  }
  for (PreToken& w : words) out.push_back(std::move(w));
}

void PreTokenizer::apply_step(const Step& step, PreToken word, std::vector<PreToken>& out) const {
  const PreTokenizerStep& spec = step.spec;
  std::vector<std::pair<size_t, size_t>> matches;
  auto emit_split = [&](const std::string& text, bool at_origin, SplitBehavior behavior, bool invert,
                        bool byte_map) {
    matches.clear();
    step.matcher.find_all(text, matches);
    for (auto [b, e] : split_ranges(text.size(), matches, behavior, invert)) {
      if (e == b) continue;
      std::string sub = text.substr(b, e - b);
      if (byte_map) sub = byte_level_encode(sub);
      out.push_back({std::move(sub), at_origin && b == 0});
    }
  };
  switch (spec.type) {
    case PreTokenizerType::Split:
      emit_split(word.text, word.at_origin, spec.behavior, spec.invert, false);
      break;
    case PreTokenizerType::Digits:
      emit_split(word.text, word.at_origin,
                 spec.individual_digits ? SplitBehavior::Isolated : SplitBehavior::Contiguous, false, false);
      break;
    case PreTokenizerType::ByteLevel:
      if (spec.add_prefix_space && word.text.rfind(' ', 0) != 0) word.text.insert(0, " ");
      if (spec.use_regex) {
        emit_split(word.text, word.at_origin, SplitBehavior::Isolated, false, true);
      } else if (!word.text.empty()) {
        out.push_back({byte_level_encode(word.text), word.at_origin});
      }
      break;
    case PreTokenizerType::Metaspace: {
      std::string text = text_replace_all(word.text, TextMatcher({false, " "}, ""), spec.replacement);
      const bool starts = text.rfind(spec.replacement, 0) == 0;
      if (!starts && (spec.prepend_scheme == PrependScheme::Always ||
                      (spec.prepend_scheme == PrependScheme::First && word.at_origin)))
        text.insert(0, spec.replacement);
      if (spec.split) {
        emit_split(text, word.at_origin, SplitBehavior::MergedWithNext, false, false);
      } else if (!text.empty()) {
        out.push_back({std::move(text), word.at_origin});
      }
      break;
    }
  }
}

}  // namespace loam
