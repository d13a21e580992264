// libFuzzer target: dataset lines through the model's chat template into
// token ids with loss masks (what tune sft does with each line). Input: a
// JSONL file; each example the reader accepts is rendered and tokenized with
// the fixture tokenizer and template in fuzz/fixtures/chat_model. Any input
// must give sequences whose ids fit the vocabulary, or a loam::Error.
#include <string_view>

#include "core/error.h"
#include "data/record_source.h"
#include "data/sft_tokenize.h"
#include "data/validate.h"
#include "tokenizer/model_text.h"

namespace {

const loam::ModelText& model_text() {
  static const loam::ModelText t = loam::model_text_load(LOAM_FUZZ_CHAT_MODEL);
  return t;
}

void check_ids(const std::vector<int32_t>& ids) {
  for (int32_t id : ids)
    if (id < 0 || id >= model_text().tokenizer.vocab_size()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  loam::DatasetOptions options;
  options.file_kind = loam::FileKind::Jsonl;
  options.reader.max_line_bytes = 1 << 16;
  try {
    auto source = loam::RecordSource::from_memory(bytes, "fuzz.jsonl", *options.file_kind, options.reader);
    loam::dataset_scan(*source, "fuzz.jsonl", options, [&](loam::Example&& e, std::string_view, bool) {
      try {
        if (e.task() == loam::Task::Preference) {
          loam::TokenizedPreference p = loam::preference_tokenize(e, model_text(), 256);
          check_ids(p.prompt_ids);
          check_ids(p.chosen_ids);
          check_ids(p.rejected_ids);
        } else {
          loam::TokenizedExample t = loam::sft_tokenize(e, model_text(), 256);
          check_ids(t.input_ids);
          if (t.labels.size() != t.input_ids.size()) __builtin_trap();
        }
      } catch (const loam::Error&) {  // the template refuses this conversation: a data error
      }
    });
  } catch (const loam::Error&) {
  }
  return 0;
}
