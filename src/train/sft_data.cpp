#include "train/sft_data.h"

#include "core/error.h"
#include "data/sft_tokenize.h"
#include "data/validate.h"

namespace loam {
namespace {

std::vector<SftSequence> load_split(const std::string& uri, const SftConfig& cfg, const ModelText* text,
                                    int32_t vocab, int64_t& n_truncated) {
  DatasetOptions opt;
  opt.vocab_size = vocab;
  Dataset d = dataset_load(uri, opt);  // throws, listing FILE:LINE:FIELD errors
  if (d.report.task() && *d.report.task() == Task::Preference)
    throw Error(ErrorKind::DataError, uri, "holds preference pairs",
                "supervised tuning needs prompt/response examples (input_text/output_text, contents or messages); "
                "check a file with: loam data validate FILE --task sft; tune on pairs with: loam tune preference");
  std::vector<SftSequence> out;
  out.reserve(d.examples.size());
  for (const Example& e : d.examples) {
    TokenizedExample t;
    if (!text && !format_is_pretokenized(e.format))
      throw Error(ErrorKind::DataError, d.report.path + ":" + std::to_string(e.line),
                  "a text example needs the model's tokenizer, and " + cfg.job.source_model + " has no tokenizer.json",
                  "add the model's tokenizer files, or use pre-tokenized data (input_ids, labels)");
    try {
      t = text ? sft_tokenize(e, *text, cfg.hyperparameters.max_seq_length)
               : sft_tokenize_ids(e, cfg.hyperparameters.max_seq_length);
    } catch (const Error& err) {
      throw Error(ErrorKind::DataError, d.report.path + ":" + std::to_string(e.line), err.what());
    }
    if (t.truncated) n_truncated++;
    if (t.n_scored() == 0) continue;  // nothing left to learn after truncation
    out.push_back({std::move(t.input_ids), std::move(t.labels)});
  }
  if (out.empty()) throw Error(ErrorKind::DataError, uri, "no example has a token to train on");
  return out;
}

}  // namespace

SftData sft_data_load(const SftConfig& cfg, const ModelText* text, int32_t vocab) {
  SftData d;
  d.train = load_split(cfg.job.train, cfg, text, vocab, d.n_truncated);
  int64_t ignored = 0;
  if (!cfg.job.validation.empty()) d.validation = load_split(cfg.job.validation, cfg, text, vocab, ignored);
  return d;
}

SftFormat sft_format_of(const ModelText& text) {
  SftFormat f;
  if (text.chat_template) f.chat_template = text.chat_template->source();
  f.eos_ids = text.eos_ids;
  f.bos_token = text.bos_token;
  f.eos_token = text.eos_token;
  return f;
}

}  // namespace loam
