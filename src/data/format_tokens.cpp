// Pre-tokenized formats: ids the user made with the model's tokenizer.
// input_ids/labels (-100 = not scored) for SFT; prompt/chosen/rejected ids
// for preference. Ids are checked against the vocabulary when it is known.
#include "data/format_parse.h"

namespace loam {
namespace {

constexpr int64_t kIgnoreLabel = -100;

// Reads an array of ids; reports the first bad element only (a file of
// 100k-token rows should not print 100k lines).
bool ids_read(const nlohmann::json& obj, const char* key, bool is_labels, const ParseOptions& options,
              FieldCheck& check, std::vector<int32_t>& out) {
  const auto* v = check.require(obj, key, "");
  if (!v || !check.array(*v, key)) return false;
  out.reserve(v->size());
  for (size_t i = 0; i < v->size(); ++i) {
    const auto& x = (*v)[i];
    std::string p = path_index(key, i);
    if (!x.is_number_integer()) {
      check.error(p, "expected an integer token id, got " + json_type_phrase(x));
      return false;
    }
    int64_t id = x.is_number_unsigned() && x.get<uint64_t>() > uint64_t(INT64_MAX) ? INT64_MAX : x.get<int64_t>();
    if (is_labels && id == kIgnoreLabel) {
      out.push_back(int32_t(kIgnoreLabel));
      continue;
    }
    if (id < 0) {
      check.error(p, "token id " + std::to_string(id) + " is negative" + (is_labels ? " (only -100 marks an unscored token)" : ""));
      return false;
    }
    if ((options.vocab_size > 0 && id >= options.vocab_size) || id > INT32_MAX) {
      check.error(p, "token id " + std::to_string(id) + " is out of the vocabulary (size " +
                         std::to_string(options.vocab_size) + ")");
      return false;
    }
    out.push_back(int32_t(id));
  }
  return true;
}

}  // namespace

void parse_tokens(Format f, const nlohmann::json& obj, FieldCheck& check, Example& out, const ParseOptions& options) {
  if (f == Format::TokensSft) {
    bool ok_ids = ids_read(obj, "input_ids", false, options, check, out.input_ids);
    bool ok_labels = ids_read(obj, "labels", true, options, check, out.labels);
    if (!ok_ids || !ok_labels) return;
    if (out.labels.size() != out.input_ids.size()) {
      check.error("labels", "has " + std::to_string(out.labels.size()) + " entries but input_ids has " +
                                std::to_string(out.input_ids.size()));
      return;
    }
    bool any = false;
    for (int32_t l : out.labels) any |= l != kIgnoreLabel;
    if (!any) check.error("labels", "every label is -100, so nothing would be trained");
    return;
  }
  bool ok = ids_read(obj, "prompt_ids", false, options, check, out.prompt_ids);
  ok &= ids_read(obj, "chosen_ids", false, options, check, out.chosen_ids);
  ok &= ids_read(obj, "rejected_ids", false, options, check, out.rejected_ids);
  if (ok && out.chosen_ids == out.rejected_ids)
    check.error("rejected_ids", "is identical to chosen_ids; a preference pair needs two different answers");
}

}  // namespace loam
