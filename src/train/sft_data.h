// Loading tuning data for `loam tune sft`: the dataset layer reads and
// validates every line (a file with errors never starts a run), examples are
// rendered through the model's chat template and tokenized with loss masks,
// and sequences longer than --max-seq-length are truncated and counted.
#pragma once

#include "tokenizer/model_text.h"
#include "train/sft_config.h"
#include "train/sft_trainer.h"

namespace loam {

// Throws Error listing the first problems ("FILE:LINE:FIELD: message").
SftData sft_data_load(const SftConfig& cfg, const ModelText& text, int32_t vocab_size);

// The formatting a run trains with (template text, eos ids, special tokens).
SftFormat sft_format_of(const ModelText& text);

}  // namespace loam
