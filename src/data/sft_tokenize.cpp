#include "data/sft_tokenize.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"

namespace loam {
namespace {

std::vector<Turn> first_turns(const std::vector<Turn>& turns, size_t n) {
  return std::vector<Turn>(turns.begin(), turns.begin() + std::min(n, turns.size()));
}

// The template rendering, or the plain layout for models without a template.
std::string render(const ModelText& m, const std::vector<Turn>& turns, bool add_generation_prompt) {
  if (m.chat_template) return model_text_render(m, turns_to_messages(turns), add_generation_prompt);
  std::string s;
  for (const Turn& t : turns) {
    s += t.text;
    if (t.role == Role::Assistant) s += m.eos_token;
    s += "\n\n";
  }
  return s;
}

bool is_prefix(const std::vector<int32_t>& p, const std::vector<int32_t>& ids) {
  return p.size() <= ids.size() && std::equal(p.begin(), p.end(), ids.begin());
}

// The token index where character `pos` of `text` (tokenized as `ids`) falls.
size_t token_boundary(const ModelText& m, const std::string& text, const std::vector<int32_t>& ids, size_t pos) {
  if (pos >= text.size()) return ids.size();
  std::vector<int32_t> p = model_text_encode_rendered(m, text.substr(0, pos));
  if (is_prefix(p, ids)) return p.size();
  // Fallback: the smallest k whose decoded prefix covers pos characters.
  size_t lo = 0, hi = ids.size();
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    std::string d = m.tokenizer.decode(std::span<const int32_t>(ids.data(), mid), false);
    if (d.size() >= pos) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

size_t trim_trailing_space(const std::string& s, size_t end, size_t floor) {
  while (end > floor && (s[end - 1] == '\n' || s[end - 1] == ' ' || s[end - 1] == '\r' || s[end - 1] == '\t')) --end;
  return end;
}

// Where turn k's target lies in `full`: it starts after the prefix rendered
// with the generation prompt and its text ends at content_end; the
// end-of-turn token after it is found in token space (end_of_turn_after).
// When the template rewrites the text (so it cannot be found), content_end is
// the end of the conversation rendered through turn k, whitespace trimmed,
// which already holds the end-of-turn token (has_end_token).
struct TargetChars {
  size_t start = 0, content_end = 0;
  bool has_end_token = false;
};

TargetChars target_chars(const ModelText& m, const std::vector<Turn>& turns, size_t k, const std::string& full,
                         size_t search_from) {
  TargetChars t;
  std::string pre = render(m, first_turns(turns, k), /*add_generation_prompt=*/true);
  bool pre_ok = pre.size() >= search_from && full.compare(0, pre.size(), pre) == 0;
  // Templates often trim the text ({{ content | trim }}): look for it trimmed.
  std::string_view content = turns[k].text;
  while (!content.empty() && std::isspace(static_cast<unsigned char>(content.front()))) content.remove_prefix(1);
  while (!content.empty() && std::isspace(static_cast<unsigned char>(content.back()))) content.remove_suffix(1);
  size_t at = full.find(content, pre_ok ? pre.size() : search_from);
  if (at != std::string::npos) {
    t.start = pre_ok ? pre.size() : at;
    t.content_end = at + content.size();
    return t;
  }
  std::string thru = render(m, first_turns(turns, k + 1), false);
  if (!pre_ok || thru.size() <= pre.size() || full.compare(0, thru.size(), thru) != 0)
    throw Error("chat template", "the rendered conversation does not contain assistant turn " + std::to_string(k) +
                                     "'s text; cannot place its loss mask");
  t.start = pre.size();
  t.content_end = trim_trailing_space(full, thru.size(), t.start);
  t.has_end_token = true;
  return t;
}

bool is_stop_token(const ModelText& m, int32_t id) {
  return m.tokenizer.is_special(id) || std::find(m.eos_ids.begin(), m.eos_ids.end(), id) != m.eos_ids.end();
}

// The token index just past the end-of-turn token that follows ids[tc] (one
// special token, possibly after whitespace tokens), or tc when there is none.
size_t end_of_turn_after(const ModelText& m, const std::vector<int32_t>& ids, size_t tc) {
  size_t j = tc;
  while (j < ids.size() && j < tc + 2 && !is_stop_token(m, ids[j])) {
    std::string piece = m.tokenizer.decode(std::span<const int32_t>(&ids[j], 1), false);
    if (piece.find_first_not_of(" \t\r\n") != std::string::npos) return tc;
    ++j;
  }
  return j < ids.size() && is_stop_token(m, ids[j]) ? j + 1 : tc;
}

void truncate_to(std::vector<int32_t>& v, int max_len, bool& truncated) {
  if (max_len > 0 && v.size() > size_t(max_len)) {
    v.resize(size_t(max_len));
    truncated = true;
  }
}

bool ends_with_stop(const ModelText& m, const std::vector<int32_t>& ids) {
  return !ids.empty() && is_stop_token(m, ids.back());
}

std::optional<int32_t> eos_id(const ModelText& m) {
  if (!m.eos_ids.empty()) return m.eos_ids.front();
  if (!m.eos_token.empty()) return m.tokenizer.token_id(m.eos_token);
  return std::nullopt;
}

}  // namespace

size_t TokenizedExample::n_scored() const {
  return size_t(std::count_if(labels.begin(), labels.end(), [](int32_t l) { return l != kLabelIgnore; }));
}

TokenizedExample sft_tokenize_ids(const Example& e, int max_seq_length) {
  if (e.format != Format::TokensSft)
    throw Error(ErrorKind::DataError, "line " + std::to_string(e.line), "not a pre-tokenized (input_ids, labels) example");
  TokenizedExample out;
  out.input_ids = e.input_ids;
  out.labels = e.labels;
  out.n_tokens_full = out.input_ids.size();
  truncate_to(out.input_ids, max_seq_length, out.truncated);
  bool ignored = false;
  truncate_to(out.labels, max_seq_length, ignored);
  return out;
}

TokenizedExample sft_tokenize(const Example& e, const ModelText& m, int max_seq_length) {
  if (e.format == Format::TokensSft) return sft_tokenize_ids(e, max_seq_length);
  TokenizedExample out;
  {
    if (e.task() == Task::Preference)
      throw Error(ErrorKind::DataError, "line " + std::to_string(e.line), "a preference example cannot be tokenized for SFT");
    std::string full = render(m, e.turns, false);
    out.input_ids = model_text_encode_rendered(m, full);
    out.labels.assign(out.input_ids.size(), kLabelIgnore);
    size_t search_from = 0;
    size_t last_target_end = 0;
    for (size_t k = 0; k < e.turns.size(); ++k) {
      if (e.turns[k].role != Role::Assistant) continue;
      TargetChars c = target_chars(m, e.turns, k, full, search_from);
      search_from = c.content_end;
      if (!e.turns[k].trained) continue;
      size_t t0 = token_boundary(m, full, out.input_ids, c.start);
      size_t tc = std::max(t0, token_boundary(m, full, out.input_ids, c.content_end));
      size_t t1 = c.has_end_token ? tc : end_of_turn_after(m, out.input_ids, tc);
      for (size_t i = t0; i < t1; ++i) out.labels[i] = out.input_ids[i];
      last_target_end = t1;
    }
    // No end-of-turn token after the final answer: insert eos so generation stops.
    bool final_trained = !e.turns.empty() && e.turns.back().role == Role::Assistant && e.turns.back().trained;
    std::vector<int32_t> head(out.input_ids.begin(), out.input_ids.begin() + last_target_end);
    if (final_trained && !ends_with_stop(m, head)) {
      if (auto id = eos_id(m)) {
        out.input_ids.insert(out.input_ids.begin() + last_target_end, *id);
        out.labels.insert(out.labels.begin() + last_target_end, *id);
      }
    }
  }
  out.n_tokens_full = out.input_ids.size();
  truncate_to(out.input_ids, max_seq_length, out.truncated);
  bool ignored = false;
  truncate_to(out.labels, max_seq_length, ignored);
  return out;
}

namespace {

// max_seq_length bounds prompt + each completion (see the header).
void preference_truncate(TokenizedPreference& out, int max_seq_length) {
  out.n_tokens_full = out.prompt_ids.size() + std::max(out.chosen_ids.size(), out.rejected_ids.size());
  if (max_seq_length > 0 && out.n_tokens_full > size_t(max_seq_length)) {
    out.truncated = true;
    size_t max_prompt = size_t(max_seq_length) / 2;
    if (out.prompt_ids.size() > max_prompt)  // keep the end of the prompt, nearest the answer
      out.prompt_ids.erase(out.prompt_ids.begin(), out.prompt_ids.end() - max_prompt);
    int room = max_seq_length - int(out.prompt_ids.size());
    bool t = false;
    truncate_to(out.chosen_ids, room, t);
    truncate_to(out.rejected_ids, room, t);
  }
}

}  // namespace

TokenizedPreference preference_tokenize_ids(const Example& e, int max_seq_length) {
  if (e.format != Format::TokensPreference)
    throw Error(ErrorKind::DataError, "line " + std::to_string(e.line), "not a pre-tokenized preference example");
  TokenizedPreference out;
  out.prompt_ids = e.prompt_ids;
  out.chosen_ids = e.chosen_ids;
  out.rejected_ids = e.rejected_ids;
  preference_truncate(out, max_seq_length);
  return out;
}

TokenizedPreference preference_tokenize(const Example& e, const ModelText& m, int max_seq_length) {
  if (e.format == Format::TokensPreference) return preference_tokenize_ids(e, max_seq_length);
  TokenizedPreference out;
  {
    if (e.task() != Task::Preference)
      throw Error(ErrorKind::DataError, "line " + std::to_string(e.line), "not a preference example");
    std::string prompt = render(m, e.turns, true);
    out.prompt_ids = model_text_encode_rendered(m, prompt);
    for (int side = 0; side < 2; ++side) {
      std::vector<Turn> all = e.turns;
      const std::vector<Turn>& completion = side == 0 ? e.chosen : e.rejected;
      all.insert(all.end(), completion.begin(), completion.end());
      std::string full = render(m, all, false);
      std::vector<int32_t> ids = model_text_encode_rendered(m, full);
      size_t t0 = is_prefix(out.prompt_ids, ids) ? out.prompt_ids.size()
                                                 : token_boundary(m, full, ids, std::min(prompt.size(), full.size()));
      TargetChars tail = target_chars(m, all, all.size() - 1, full, std::min(prompt.size(), full.size()));
      size_t tc = std::max(t0, token_boundary(m, full, ids, tail.content_end));
      size_t t1 = tail.has_end_token ? tc : end_of_turn_after(m, ids, tc);
      std::vector<int32_t> c(ids.begin() + t0, ids.begin() + t1);
      if (!ends_with_stop(m, c))
        if (auto id = eos_id(m)) c.push_back(*id);
      (side == 0 ? out.chosen_ids : out.rejected_ids) = std::move(c);
    }
  }
  preference_truncate(out, max_seq_length);
  return out;
}

}  // namespace loam
