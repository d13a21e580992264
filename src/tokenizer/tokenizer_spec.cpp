// tokenizer.json (Hugging Face tokenizers' serialization) -> TokenizerSpec.
// Every error names the JSON path of the field ("tokenizer.json:
// pre_tokenizer.pretokenizers[1].type") and, for unknown component types, the
// supported ones.
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenizer/text_matcher.h"
#include "tokenizer/tokenizer.h"

namespace loam {
namespace {

using json = nlohmann::json;

struct Ctx {
  const std::string& origin;
  [[noreturn]] void fail(const std::string& path, const std::string& msg, const std::string& hint = "") const {
    throw Error(path.empty() ? origin : origin + ": " + path, msg, hint);
  }
};

const json& field(const Ctx& c, const json& j, const char* key, const std::string& path) {
  if (!j.is_object() || !j.contains(key)) c.fail(path + "." + key, "missing field");
  return j.at(key);
}

std::string get_string(const Ctx& c, const json& j, const char* key, const std::string& path) {
  const json& v = field(c, j, key, path);
  if (!v.is_string()) c.fail(path + "." + key, "expected a string, got " + std::string(v.type_name()));
  return v.get<std::string>();
}

bool get_bool(const Ctx& c, const json& j, const char* key, const std::string& path, bool dflt) {
  if (!j.contains(key) || j.at(key).is_null()) return dflt;
  const json& v = j.at(key);
  if (!v.is_boolean()) c.fail(path + "." + key, "expected a boolean, got " + std::string(v.type_name()));
  return v.get<bool>();
}

int64_t get_int(const Ctx& c, const json& j, const char* key, const std::string& path) {
  const json& v = field(c, j, key, path);
  if (!v.is_number_integer()) c.fail(path + "." + key, "expected an integer, got " + std::string(v.type_name()));
  return v.get<int64_t>();
}

const json& get_array(const Ctx& c, const json& j, const char* key, const std::string& path) {
  const json& v = field(c, j, key, path);
  if (!v.is_array()) c.fail(path + "." + key, "expected an array, got " + std::string(v.type_name()));
  return v;
}

std::string component_type(const Ctx& c, const json& j, const std::string& path) {
  if (!j.is_object()) c.fail(path, "expected an object, got " + std::string(j.type_name()));
  return get_string(c, j, "type", path);
}

[[noreturn]] void unsupported(const Ctx& c, const std::string& path, const std::string& type,
                              const char* supported) {
  c.fail(path + ".type", "unsupported type \"" + type + "\"", std::string("supported: ") + supported);
}

TextPattern parse_pattern(const Ctx& c, const json& j, const std::string& path) {
  const json& p = field(c, j, "pattern", path);
  if (p.is_object() && p.contains("String") && p.at("String").is_string()) return {false, p.at("String").get<std::string>()};
  if (p.is_object() && p.contains("Regex") && p.at("Regex").is_string()) {
    TextPattern pattern{true, p.at("Regex").get<std::string>()};
    TextMatcher(pattern, c.origin + ": " + path + ".pattern");  // compiles it: a bad regex fails here
    return pattern;
  }
  c.fail(path + ".pattern", "expected {\"String\": ...} or {\"Regex\": ...}");
}

PrependScheme parse_prepend_scheme(const Ctx& c, const json& j, const std::string& path) {
  if (j.contains("prepend_scheme") && !j.at("prepend_scheme").is_null()) {
    const std::string s = get_string(c, j, "prepend_scheme", path);
    if (s == "always") return PrependScheme::Always;
    if (s == "first") return PrependScheme::First;
    if (s == "never") return PrependScheme::Never;
    c.fail(path + ".prepend_scheme", "unknown value \"" + s + "\"", "one of always, first, never");
  }
  // Older files: add_prefix_space (default true).
  return get_bool(c, j, "add_prefix_space", path, true) ? PrependScheme::Always : PrependScheme::Never;
}

void parse_normalizer(const Ctx& c, const json& j, const std::string& path, std::vector<NormalizerStep>& out) {
  if (j.is_null()) return;
  const std::string type = component_type(c, j, path);
  NormalizerStep s;
  if (type == "Sequence") {
    const json& arr = get_array(c, j, "normalizers", path);
    for (size_t i = 0; i < arr.size(); ++i)
      parse_normalizer(c, arr[i], path + ".normalizers[" + std::to_string(i) + "]", out);
    return;
  } else if (type == "Prepend") {
    s.type = NormalizerType::Prepend;
    s.prepend = get_string(c, j, "prepend", path);
  } else if (type == "Replace") {
    s.type = NormalizerType::Replace;
    s.pattern = parse_pattern(c, j, path);
    s.content = get_string(c, j, "content", path);
  } else if (type == "NFC") {
    s.type = NormalizerType::Nfc;
  } else if (type == "NFD") {
    s.type = NormalizerType::Nfd;
  } else if (type == "NFKC") {
    s.type = NormalizerType::Nfkc;
  } else if (type == "NFKD") {
    s.type = NormalizerType::Nfkd;
  } else if (type == "Lowercase") {
    s.type = NormalizerType::Lowercase;
  } else if (type == "Strip") {
    s.type = NormalizerType::Strip;
    s.strip_left = get_bool(c, j, "strip_left", path, true);
    s.strip_right = get_bool(c, j, "strip_right", path, true);
  } else {
    unsupported(c, path, type, "Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD, Lowercase, Strip");
  }
  out.push_back(std::move(s));
}

SplitBehavior parse_behavior(const Ctx& c, const json& j, const std::string& path) {
  const std::string b = get_string(c, j, "behavior", path);
  if (b == "Removed") return SplitBehavior::Removed;
  if (b == "Isolated") return SplitBehavior::Isolated;
  if (b == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (b == "Contiguous") return SplitBehavior::Contiguous;
  c.fail(path + ".behavior", "unknown value \"" + b + "\"",
         "one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous");
}

void parse_pre_tokenizer(const Ctx& c, const json& j, const std::string& path, std::vector<PreTokenizerStep>& out) {
  if (j.is_null()) return;
  const std::string type = component_type(c, j, path);
  PreTokenizerStep s;
  if (type == "Sequence") {
    const json& arr = get_array(c, j, "pretokenizers", path);
    for (size_t i = 0; i < arr.size(); ++i)
      parse_pre_tokenizer(c, arr[i], path + ".pretokenizers[" + std::to_string(i) + "]", out);
    return;
  } else if (type == "Split") {
    s.type = PreTokenizerType::Split;
    s.pattern = parse_pattern(c, j, path);
    s.behavior = parse_behavior(c, j, path);
    s.invert = get_bool(c, j, "invert", path, false);
  } else if (type == "ByteLevel") {
    s.type = PreTokenizerType::ByteLevel;
    s.add_prefix_space = get_bool(c, j, "add_prefix_space", path, true);
    s.use_regex = get_bool(c, j, "use_regex", path, true);
  } else if (type == "Metaspace") {
    s.type = PreTokenizerType::Metaspace;
    s.replacement = get_string(c, j, "replacement", path);
    s.prepend_scheme = parse_prepend_scheme(c, j, path);
    s.split = get_bool(c, j, "split", path, true);
  } else if (type == "Digits") {
    s.type = PreTokenizerType::Digits;
    s.individual_digits = get_bool(c, j, "individual_digits", path, false);
  } else {
    unsupported(c, path, type, "Sequence, Split, ByteLevel, Metaspace, Digits");
  }
  out.push_back(std::move(s));
}

void parse_decoder(const Ctx& c, const json& j, const std::string& path, std::vector<DecoderStep>& out) {
  if (j.is_null()) return;
  const std::string type = component_type(c, j, path);
  DecoderStep s;
  if (type == "Sequence") {
    const json& arr = get_array(c, j, "decoders", path);
    for (size_t i = 0; i < arr.size(); ++i)
      parse_decoder(c, arr[i], path + ".decoders[" + std::to_string(i) + "]", out);
    return;
  } else if (type == "Replace") {
    s.type = DecoderType::Replace;
    s.pattern = parse_pattern(c, j, path);
    s.content = get_string(c, j, "content", path);
  } else if (type == "ByteFallback") {
    s.type = DecoderType::ByteFallback;
  } else if (type == "Fuse") {
    s.type = DecoderType::Fuse;
  } else if (type == "Strip") {
    s.type = DecoderType::Strip;
    s.content = get_string(c, j, "content", path);
    s.start = static_cast<int32_t>(get_int(c, j, "start", path));
    s.stop = static_cast<int32_t>(get_int(c, j, "stop", path));
  } else if (type == "ByteLevel") {
    s.type = DecoderType::ByteLevel;
  } else if (type == "Metaspace") {
    s.type = DecoderType::Metaspace;
    s.replacement = get_string(c, j, "replacement", path);
    s.prepend_scheme = parse_prepend_scheme(c, j, path);
  } else {
    unsupported(c, path, type, "Sequence, Replace, ByteFallback, Fuse, Strip, ByteLevel, Metaspace");
  }
  out.push_back(std::move(s));
}

// A TemplateProcessing special token's ids, from its special_tokens table.
std::vector<int32_t> template_special_ids(const Ctx& c, const json& j, const std::string& name,
                                          const std::string& path) {
  const json& table = field(c, j, "special_tokens", path);
  if (!table.is_object() || !table.contains(name))
    c.fail(path + ".special_tokens", "no entry for special token \"" + name + "\"");
  const json& ids = get_array(c, table.at(name), "ids", path + ".special_tokens[\"" + name + "\"]");
  std::vector<int32_t> out;
  for (const json& id : ids) {
    if (!id.is_number_integer()) c.fail(path + ".special_tokens[\"" + name + "\"].ids", "expected integers");
    out.push_back(id.get<int32_t>());
  }
  return out;
}

void parse_post_processor(const Ctx& c, const json& j, const std::string& path, TokenizerSpec& spec) {
  if (j.is_null()) return;
  const std::string type = component_type(c, j, path);
  if (type == "Sequence") {
    const json& arr = get_array(c, j, "processors", path);
    for (size_t i = 0; i < arr.size(); ++i)
      parse_post_processor(c, arr[i], path + ".processors[" + std::to_string(i) + "]", spec);
  } else if (type == "ByteLevel") {
    // Only adjusts offsets; ids are unchanged.
  } else if (type == "TemplateProcessing") {
    const json& single = get_array(c, j, "single", path);
    std::vector<int32_t> prefix, suffix;
    bool seen_sequence = false;
    for (size_t i = 0; i < single.size(); ++i) {
      const std::string at = path + ".single[" + std::to_string(i) + "]";
      const json& piece = single[i];
      if (piece.is_object() && piece.contains("Sequence")) {
        seen_sequence = true;
      } else if (piece.is_object() && piece.contains("SpecialToken")) {
        const auto ids = template_special_ids(c, j, get_string(c, piece.at("SpecialToken"), "id", at + ".SpecialToken"), path);
        (seen_sequence ? suffix : prefix).insert((seen_sequence ? suffix : prefix).end(), ids.begin(), ids.end());
      } else {
        c.fail(at, "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
      }
    }
    spec.prefix_ids = std::move(prefix);
    spec.suffix_ids = std::move(suffix);
  } else if (type == "BertProcessing" || type == "RobertaProcessing") {
    auto id_of = [&](const char* key) {
      const json& pair = get_array(c, j, key, path);
      if (pair.size() != 2 || !pair[1].is_number_integer()) c.fail(path + "." + key, "expected [token, id]");
      return pair[1].get<int32_t>();
    };
    spec.prefix_ids = {id_of("cls")};
    spec.suffix_ids = {id_of("sep")};
  } else {
    unsupported(c, path, type, "Sequence, ByteLevel, TemplateProcessing, BertProcessing, RobertaProcessing");
  }
}

void parse_merges(const Ctx& c, const json& model, TokenizerSpec& spec) {
  const json& merges = get_array(c, model, "merges", "model");
  spec.merges.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& m = merges[i];
    if (m.is_string()) {
      const std::string& s = m.get_ref<const std::string&>();
      const size_t sp = s.find(' ');
      if (sp == std::string::npos)
        c.fail("model.merges[" + std::to_string(i) + "]", "merge \"" + s + "\" is not two tokens separated by a space");
      spec.merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      spec.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      c.fail("model.merges[" + std::to_string(i) + "]", "expected \"a b\" or [\"a\", \"b\"]");
    }
  }
}

// Ids index tables sized by the largest id, so a vocabulary must be dense: a
// single id near 2^31 would otherwise ask for tens of gigabytes. Real
// vocabularies have at most a few holes; this allows many.
int64_t id_limit(size_t n_entries) { return 2 * static_cast<int64_t>(n_entries) + 1024; }

void check_id_density(const Ctx& c, const json& vocab, int64_t max_id) {
  if (max_id < id_limit(vocab.size())) return;
  for (auto it = vocab.begin(); it != vocab.end(); ++it)
    if (it.value().get<int64_t>() == max_id)
      c.fail("model.vocab[\"" + it.key() + "\"]",
             "id " + std::to_string(max_id) + " is far beyond the " + std::to_string(vocab.size()) +
                 " entries of the vocabulary (ids must be dense)");
}

void parse_model(const Ctx& c, const json& j, TokenizerSpec& spec) {
  if (!j.contains("model") || j.at("model").is_null()) c.fail("model", "missing field");
  const json& model = j.at("model");
  if (!model.is_object()) c.fail("model", "expected an object");
  const std::string type = model.contains("type") ? get_string(c, model, "type", "model") : "BPE";
  if (type != "BPE") unsupported(c, "model", type, "BPE");
  if (model.contains("dropout") && !model.at("dropout").is_null() && model.at("dropout").get<double>() != 0.0)
    c.fail("model.dropout", "BPE dropout is not supported");
  const json& vocab = field(c, model, "vocab", "model");
  if (!vocab.is_object()) c.fail("model.vocab", "expected an object of token -> id");
  int64_t max_id = -1;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0)
      c.fail("model.vocab[\"" + it.key() + "\"]", "expected a non-negative integer id");
    max_id = std::max(max_id, it.value().get<int64_t>());
  }
  check_id_density(c, vocab, max_id);
  spec.vocab.assign(static_cast<size_t>(max_id + 1), "");
  for (auto it = vocab.begin(); it != vocab.end(); ++it) spec.vocab[it.value().get<size_t>()] = it.key();
  parse_merges(c, model, spec);
  spec.byte_fallback = get_bool(c, model, "byte_fallback", "model", false);
  spec.fuse_unk = get_bool(c, model, "fuse_unk", "model", false);
  spec.ignore_merges = get_bool(c, model, "ignore_merges", "model", false);
  if (model.contains("unk_token") && !model.at("unk_token").is_null()) {
    const std::string unk = get_string(c, model, "unk_token", "model");
    auto it = vocab.find(unk);
    if (it == vocab.end()) c.fail("model.unk_token", "\"" + unk + "\" is not in the vocab");
    spec.unk_id = it.value().get<int32_t>();
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model.contains(key) && !model.at(key).is_null())
      (std::string(key) == "end_of_word_suffix" ? spec.end_of_word_suffix : spec.continuing_subword_prefix) =
          get_string(c, model, key, "model");
  }
}

void parse_added_tokens(const Ctx& c, const json& j, TokenizerSpec& spec) {
  if (!j.contains("added_tokens") || j.at("added_tokens").is_null()) return;
  const json& arr = get_array(c, j, "added_tokens", "");
  for (size_t i = 0; i < arr.size(); ++i) {
    const std::string at = "added_tokens[" + std::to_string(i) + "]";
    const json& t = arr[i];
    AddedToken a;
    const int64_t id = get_int(c, t, "id", at);
    a.content = get_string(c, t, "content", at);
    if (id < 0 || id >= id_limit(spec.vocab.size() + arr.size()))
      c.fail(at + ".id", "id " + std::to_string(id) + " of \"" + a.content +
                             "\" is far beyond the vocabulary's " + std::to_string(spec.vocab.size()) +
                             " ids (ids must be dense)");
    a.id = static_cast<int32_t>(id);
    a.special = get_bool(c, t, "special", at, false);
    a.lstrip = get_bool(c, t, "lstrip", at, false);
    a.rstrip = get_bool(c, t, "rstrip", at, false);
    a.single_word = get_bool(c, t, "single_word", at, false);
    a.normalized = get_bool(c, t, "normalized", at, !a.special);
    spec.added_tokens.push_back(std::move(a));
  }
}

}  // namespace

TokenizerSpec tokenizer_spec_from_json(const json& j, const std::string& origin) {
  const Ctx c{origin};
  if (!j.is_object()) c.fail("", "expected a JSON object at the top level");
  TokenizerSpec spec;
  spec.origin = origin;
  parse_model(c, j, spec);
  parse_added_tokens(c, j, spec);
  if (j.contains("normalizer")) parse_normalizer(c, j.at("normalizer"), "normalizer", spec.normalizer);
  if (j.contains("pre_tokenizer")) parse_pre_tokenizer(c, j.at("pre_tokenizer"), "pre_tokenizer", spec.pre_tokenizer);
  if (j.contains("post_processor")) parse_post_processor(c, j.at("post_processor"), "post_processor", spec);
  if (j.contains("decoder")) parse_decoder(c, j.at("decoder"), "decoder", spec.decoder);
  spec.kind = TokenizerKind::SentencePieceBpe;
  for (const PreTokenizerStep& s : spec.pre_tokenizer)
    if (s.type == PreTokenizerType::ByteLevel) spec.kind = TokenizerKind::ByteLevelBpe;
  for (const DecoderStep& s : spec.decoder)
    if (s.type == DecoderType::ByteLevel) spec.kind = TokenizerKind::ByteLevelBpe;
  return spec;
}

}  // namespace loam
