#include "eval/eval_model.h"

#include <algorithm>
#include <map>

#include "data/sft_tokenize.h"
#include "model/decoder.h"
#include "model/transformer_train.h"
#include "tokenizer/utf8.h"

namespace loam {

std::vector<int32_t> eval_prompt_ids(const ModelText& text, const std::vector<Turn>& prompt_turns) {
  if (text.chat_template)
    return model_text_encode_rendered(text, model_text_render(text, turns_to_messages(prompt_turns), true));
  std::string s;  // sft_tokenize's plain layout
  for (const Turn& t : prompt_turns) s += t.text + "\n\n";
  return model_text_encode_rendered(text, s);
}

std::vector<Generation> eval_generate(const Model& model, const ModelText& text,
                                      const std::vector<std::vector<int32_t>>& prompts, const LoraAdapter* lora,
                                      const DecodeSettings& settings, const GenerateProgress& progress) {
  std::vector<int> eos = model.generation.eos_ids;
  for (int32_t id : text.eos_ids)
    if (std::find(eos.begin(), eos.end(), id) == eos.end()) eos.push_back(id);
  const int64_t max_prompt = std::max<int64_t>(1, model.config.max_position - settings.max_tokens);
  // At most batch_size sequences in flight; a finished one is replaced by
  // the next prompt between steps, so the batch stays full.
  std::vector<Generation> out(prompts.size());
  BatchDecoder dec(model, text.tokenizer);
  std::map<int64_t, size_t> running;  // decoder id -> prompt index
  const size_t width = static_cast<size_t>(std::max(1, settings.batch_size));
  size_t next = 0, done = 0;
  while (done < prompts.size()) {
    while (next < prompts.size() && running.size() < width) {
      GenerateRequest req;
      req.prompt = prompts[next];
      if (static_cast<int64_t>(req.prompt.size()) > max_prompt)  // keep the end, nearest the answer
        req.prompt.erase(req.prompt.begin(), req.prompt.end() - max_prompt);
      req.max_tokens = settings.max_tokens;
      req.sampling = settings.sampling;
      req.stop = settings.stop;
      req.eos_ids = eos;
      req.lora = lora;
      running[dec.add(req)] = next++;
    }
    for (int64_t id : dec.step()) {
      GenerateResult r = dec.take(id);
      out[running.at(id)] = {utf8_valid(r.text) ? r.text : utf8_lossy(r.text), static_cast<int>(r.tokens.size()),
                             r.finish};
      running.erase(id);
      done++;
      if (progress) progress(done, prompts.size());
    }
  }
  return out;
}

std::vector<NllStats> eval_reference_nll(const Model& model, const ModelText& text, const std::vector<Example>& examples,
                                         const LoraAdapter* lora) {
  std::vector<NllStats> out;
  TrainWorkspace ws;
  for (const Example& e : examples) {
    Example only_last = e;
    for (size_t k = 0; k + 1 < only_last.turns.size(); k++) only_last.turns[k].trained = false;
    if (!only_last.turns.empty()) only_last.turns.back().trained = true;
    TokenizedExample t = sft_tokenize(only_last, text, static_cast<int>(model.config.max_position));
    std::vector<int32_t> targets(t.input_ids.size(), kIgnoreIndex);
    for (size_t i = 0; i + 1 < t.labels.size(); i++)
      if (t.labels[i + 1] != kLabelIgnore) targets[i] = t.labels[i + 1];
    TrainBatch batch;
    batch.append(t.input_ids, targets);
    LossStats s = model_eval_loss(model, lora, batch, &ws);
    out.push_back({s.loss_sum, s.n_scored});
  }
  return out;
}

}  // namespace loam
