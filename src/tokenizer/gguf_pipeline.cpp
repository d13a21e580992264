// Pipelines for tokenizers described by GGUF metadata rather than
// tokenizer.json: the split regexes behind llama.cpp's `tokenizer.ggml.pre`
// names, and the standard normalizer/pre-tokenizer/decoder of each kind.
#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace loam {
namespace {

// The regexes as the matching Hugging Face tokenizer.json files write them.
constexpr const char* kGpt2 =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
constexpr const char* kLlama3 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kQwen2 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

}  // namespace

std::vector<std::string> tokenizer_pre_regexes_for_gguf(const std::string& pre) {
  if (pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3" || pre == "dbrx" || pre == "smaug-bpe")
    return {kLlama3};
  if (pre == "qwen2" || pre == "deepseek-r1-qwen") return {kQwen2};
  // SmolLM / StarCoder: Digits(individual) then GPT-2's ByteLevel regex.
  if (pre == "smollm" || pre == "starcoder" || pre == "refact") return {"\\p{N}", kGpt2};
  if (pre == "gpt2" || pre == "default" || pre == "gpt-2" || pre == "phi-2" || pre == "olmo") return {kGpt2};
  throw Error("tokenizer.ggml.pre", "unknown pre-tokenizer \"" + pre + "\"",
              "supported: llama-bpe, llama3, llama-v3, dbrx, smaug-bpe, qwen2, deepseek-r1-qwen, smollm, "
              "starcoder, refact, gpt2, default, phi-2, olmo");
}

void tokenizer_spec_fill_pipeline(TokenizerSpec& spec, const std::vector<std::string>& pre_regexes,
                                  bool add_space_prefix) {
  spec.normalizer.clear();
  spec.pre_tokenizer.clear();
  spec.decoder.clear();
  const std::string metaspace = "\xE2\x96\x81";
  if (spec.kind == TokenizerKind::ByteLevelBpe) {
    for (const std::string& re : pre_regexes) {
      PreTokenizerStep split;
      split.type = PreTokenizerType::Split;
      split.pattern = {true, re};
      split.behavior = SplitBehavior::Isolated;
      spec.pre_tokenizer.push_back(split);
    }
    PreTokenizerStep bl;
    bl.type = PreTokenizerType::ByteLevel;
    bl.add_prefix_space = false;
    bl.use_regex = false;
    spec.pre_tokenizer.push_back(bl);
    DecoderStep d;
    d.type = DecoderType::ByteLevel;
    spec.decoder.push_back(d);
    return;
  }
  if (add_space_prefix) {
    NormalizerStep prepend;
    prepend.type = NormalizerType::Prepend;
    prepend.prepend = metaspace;
    spec.normalizer.push_back(prepend);
  }
  NormalizerStep replace;
  replace.type = NormalizerType::Replace;
  replace.pattern = {false, " "};
  replace.content = metaspace;
  spec.normalizer.push_back(replace);
  DecoderStep rep;
  rep.type = DecoderType::Replace;
  rep.pattern = {false, metaspace};
  rep.content = " ";
  DecoderStep fallback;
  fallback.type = DecoderType::ByteFallback;
  DecoderStep fuse;
  fuse.type = DecoderType::Fuse;
  spec.decoder = {rep, fallback, fuse};
  if (add_space_prefix) {
    DecoderStep strip;
    strip.type = DecoderType::Strip;
    strip.content = " ";
    strip.start = 1;
    strip.stop = 0;
    spec.decoder.push_back(strip);
  }
}

}  // namespace loam
