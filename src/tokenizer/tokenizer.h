// BPE tokenizers (byte-level and SentencePiece-style) that give exactly the
// ids and strings of Hugging Face's `tokenizers` library.
//
// The pipeline is HF's: added tokens are split out of the raw text first
// (special ones too, so a rendered chat template becomes its control ids);
// the remaining pieces are normalized, pre-tokenized into words, and each word
// is merged by the BPE model; add_special_tokens wraps the result in the
// post-processor's single template. Decoding maps ids to token strings and runs
// the decoder chain. What is not here: Unigram/WordPiece models, pair
// sequences, truncation, padding, offsets.
//
// A TokenizerSpec is the neutral, fully parsed description; it comes from
// tokenizer.json (tokenizer_spec_from_json) or from GGUF metadata (the model
// layer fills one, see tokenizer_spec_fill_pipeline). Tokenizer consumes it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace loam {

// Summary of the family; behaviour follows the pipeline steps below, not this.
enum class TokenizerKind {
  ByteLevelBpe,      // GPT-2 style: bytes mapped to printable chars (Llama 3, Qwen, SmolLM)
  SentencePieceBpe,  // "▁" for spaces, <0xNN> byte fallback (Llama 2, Mistral, Gemma)
};

// A literal string or a PCRE-style regex (compiled with Unicode properties).
struct TextPattern {
  bool is_regex = false;
  std::string text;
};

// Tokens matched in the text before the model runs (HF `added_tokens`).
struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;      // skipped by decode(skip_special_tokens=true)
  bool lstrip = false;       // the match swallows whitespace on its left
  bool rstrip = false;       // ... and on its right
  bool single_word = false;  // only matches when not inside a word
  bool normalized = false;   // matched in normalized text (else in the raw text)
};

enum class NormalizerType { Prepend, Replace, Nfc, Nfd, Nfkc, Nfkd, Lowercase, Strip };

// One normalizer; a Sequence is the list TokenizerSpec::normalizer.
struct NormalizerStep {
  NormalizerType type = NormalizerType::Nfc;
  std::string prepend;      // Prepend: added in front of non-empty text
  TextPattern pattern;      // Replace: what is replaced (every match) ...
  std::string content;      // ... by this
  bool strip_left = false;  // Strip: trim Unicode whitespace on the left
  bool strip_right = false; // Strip: ... on the right
};

// How a Split keeps the matched delimiters (HF SplitDelimiterBehavior).
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// When Metaspace prepends its replacement char: every piece, only the piece at
// the start of the input, or never.
enum class PrependScheme { Always, First, Never };

enum class PreTokenizerType { Split, ByteLevel, Metaspace, Digits };

// One pre-tokenizer; a Sequence is the list TokenizerSpec::pre_tokenizer.
struct PreTokenizerStep {
  PreTokenizerType type = PreTokenizerType::Split;
  TextPattern pattern;                         // Split: the delimiter
  SplitBehavior behavior = SplitBehavior::Isolated;  // Split
  bool invert = false;                         // Split: the non-matches are the delimiters
  bool add_prefix_space = false;               // ByteLevel: " " before pieces not starting with one
  bool use_regex = true;                       // ByteLevel: split with GPT-2's regex first
  std::string replacement = "\xE2\x96\x81";    // Metaspace: replaces " " (default "▁")
  PrependScheme prepend_scheme = PrependScheme::Always;  // Metaspace
  bool split = true;                           // Metaspace: split before each replacement
  bool individual_digits = false;              // Digits: one word per digit (else per run)
};

enum class DecoderType { Replace, ByteFallback, Fuse, Strip, ByteLevel, Metaspace };

// One decoder; a Sequence is the list TokenizerSpec::decoder.
struct DecoderStep {
  DecoderType type = DecoderType::Fuse;
  TextPattern pattern;                          // Replace: what is replaced ...
  std::string content;                          // Replace: ... by this; Strip: the char stripped
  int32_t start = 0;                            // Strip: at most this many from each token's start
  int32_t stop = 0;                             // Strip: ... and end
  std::string replacement = "\xE2\x96\x81";     // Metaspace: becomes " "
  PrependScheme prepend_scheme = PrependScheme::Always;  // Metaspace: not Never drops it on token 0
};

struct TokenizerSpec {
  // Where this spec came from ("…/tokenizer.json", "model.gguf"); prefixes
  // the errors the Tokenizer constructor throws.
  std::string origin = "tokenizer";
  TokenizerKind kind = TokenizerKind::ByteLevelBpe;
  // Token string per id (byte-level tokens in their mapped form, "Ġthe").
  // Ids with no vocab entry (holes, or ids only added tokens have) are "".
  std::vector<std::string> vocab;
  // BPE merges, rank = index (earlier merges first). Empty with `scores` set:
  // merges are derived from the scores (GGUF SentencePiece vocabularies).
  std::vector<std::pair<std::string, std::string>> merges;
  // Optional per-id scores (GGUF tokenizer.ggml.scores); used only when
  // `merges` is empty: a merged piece with a higher score merges first.
  std::vector<float> scores;
  std::vector<AddedToken> added_tokens;
  std::vector<NormalizerStep> normalizer;       // applied in order
  std::vector<PreTokenizerStep> pre_tokenizer;  // applied in order
  std::vector<DecoderStep> decoder;             // applied in order; empty: tokens joined by " "
  bool byte_fallback = false;    // unknown chars become their <0xNN> tokens
  std::optional<int32_t> unk_id; // id for chars nothing else covers (none: dropped)
  bool fuse_unk = false;         // consecutive unknowns become one unk
  bool ignore_merges = false;    // a word that is itself a vocab token is not merged
  std::string continuing_subword_prefix;  // BPE: prefixed to non-initial symbols
  std::string end_of_word_suffix;         // BPE: appended to the final symbol
  // The post-processor's single template: ids around the sequence when
  // encode(..., add_special_tokens=true). E.g. Llama 2 prefix {1} (<s>).
  std::vector<int32_t> prefix_ids;
  std::vector<int32_t> suffix_ids;
};

// Parses a tokenizer.json document. `origin` names the file in errors, which
// name the JSON path of the bad field and, for unknown component types, list
// the supported ones. Throws loam::Error.
TokenizerSpec tokenizer_spec_from_json(const nlohmann::json& j, const std::string& origin);

// For GGUF files: the pre-tokenizer split regexes (applied in order, each an
// Isolated split) that a `tokenizer.ggml.pre` value stands for ("llama-bpe",
// "llama3", "qwen2", "smollm", "gpt2", "default", ...). Throws loam::Error for
// unknown names. Only meaningful for byte-level vocabularies (ggml model "gpt2").
std::vector<std::string> tokenizer_pre_regexes_for_gguf(const std::string& pre);

// Fills spec.normalizer/pre_tokenizer/decoder with the standard pipeline of
// spec.kind, for specs built from GGUF metadata: ByteLevelBpe gets one Split
// per regex then ByteLevel (no regex) and the ByteLevel decoder; SentencePieceBpe
// gets the Prepend "▁" + Replace " "->"▁" normalizer (when add_space_prefix)
// and the Replace/ByteFallback/Fuse/Strip decoder. `pre_regexes` is ignored
// for SentencePieceBpe.
void tokenizer_spec_fill_pipeline(TokenizerSpec& spec, const std::vector<std::string>& pre_regexes,
                                  bool add_space_prefix = true);

class TokenizerImpl;

// Immutable after construction; copies share state (cheap). Concurrent const
// calls from many threads are safe (the word cache is behind a mutex).
class Tokenizer {
 public:
  // Reads and parses a tokenizer.json. Throws loam::Error naming the path/field.
  static Tokenizer from_file(const std::string& tokenizer_json_path);
  // Builds merge tables and matchers. Throws loam::Error for an inconsistent
  // spec (merge of a token not in the vocab, bad regex, ...).
  explicit Tokenizer(TokenizerSpec spec);

  // As HF `encode(text, add_special_tokens).ids`. Added and special tokens
  // written in `text` are matched. Invalid UTF-8 in `text` is first replaced
  // by U+FFFD (as Rust's from_utf8_lossy would).
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = false) const;
  // As HF `decode(ids, skip_special_tokens)`. Ids with no token are skipped.
  // Byte tokens that do not form whole UTF-8 chars decode to U+FFFD, so a
  // streaming caller decodes the whole id list and emits the new text only
  // up to the last complete char that will not change.
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  int32_t vocab_size() const;  // max id + 1 over vocab and added tokens
  std::optional<int32_t> token_id(std::string_view token) const;  // exact vocab or added-token string
  // The raw vocab/added string of an id. Throws loam::Error if out of range.
  const std::string& token_text(int32_t id) const;
  bool is_special(int32_t id) const;  // an added token marked special
  const TokenizerSpec& spec() const;

 private:
  std::shared_ptr<const TokenizerImpl> impl_;
};

}  // namespace loam
