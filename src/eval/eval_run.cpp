#include "eval/eval_run.h"

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/jsonl_reader.h"
#include "data/validate.h"
#include "eval/judge.h"

namespace loam {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct PromptSet {
  std::vector<Example> examples;        // full conversations (for perplexity)
  std::vector<std::vector<Turn>> prompts;
};

// Splits each example into the prompt turns and the reference.
PromptSet examples_split(const std::vector<Example>& examples, const std::string& path, std::vector<EvalExample>& out) {
  PromptSet t;
  for (const Example& e : examples) {
    const std::string where = path + ":" + std::to_string(e.line);
    if (format_is_pretokenized(e.format)) throw Error(where, "pre-tokenized examples have no text reference to score");
    if (e.task() == Task::Preference) throw Error(where, "preference examples are not evaluated by loam eval");
    if (e.turns.empty() || e.turns.back().role != Role::Assistant) throw Error(where, "the example has no answer to score");
    std::vector<Turn> prompt(e.turns.begin(), e.turns.end() - 1);
    std::string shown;
    for (auto it = prompt.rbegin(); it != prompt.rend(); ++it)
      if (it->role == Role::User) {
        shown = it->text;
        break;
      }
    out.push_back({shown, e.task() == Task::Classification ? e.label : e.turns.back().text, e.line});
    t.examples.push_back(e);
    t.prompts.push_back(std::move(prompt));
  }
  return t;
}

struct Loaded {
  Model model;
  ModelText text;
};

// Both orders of every example, judged greedily in a few tokens.
JudgeRun judge_run(const Loaded& judge, const EvalInputs& in, size_t k, const EvalProgress& progress) {
  const SystemOutputs& base = in.systems[0];
  const SystemOutputs& sys = in.systems[k];
  JudgeRun j{sys.name, base.name, {}, {}, {}, 0};
  std::vector<std::vector<int32_t>> prompts;
  for (size_t i = 0; i < in.examples.size(); i++) {
    const EvalExample& e = in.examples[i];
    for (bool system_first : {false, true}) {
      const std::string& a = system_first ? sys.predictions[i] : base.predictions[i];
      const std::string& b = system_first ? base.predictions[i] : sys.predictions[i];
      prompts.push_back(eval_prompt_ids(judge.text, {Turn{Role::User, judge_prompt(e.prompt, e.reference, a, b), true}}));
    }
  }
  DecodeSettings d;
  d.max_tokens = 8;
  auto replies = eval_generate(judge.model, judge.text, prompts, nullptr, d, [&](size_t done, size_t total) {
    if (progress) progress("judge: " + sys.name, done, total);
  });
  for (size_t i = 0; i < in.examples.size(); i++) {
    const JudgeVerdict first = judge_parse(replies[2 * i].text), second = judge_parse(replies[2 * i + 1].text);
    j.reply_baseline_first.push_back(replies[2 * i].text);
    j.reply_system_first.push_back(replies[2 * i + 1].text);
    j.n_no_verdict += (first == JudgeVerdict::None) + (second == JudgeVerdict::None);
    const int score = (first == JudgeVerdict::B) - (first == JudgeVerdict::A) + (second == JudgeVerdict::A) -
                      (second == JudgeVerdict::B);
    j.outcome.push_back(score > 0 ? 1 : score < 0 ? -1 : 0);
  }
  return j;
}

}  // namespace

std::vector<SystemSpec> system_specs(const std::string& model, const std::string& adapter,
                                     const std::vector<std::string>& compare) {
  std::vector<SystemSpec> specs;
  auto base_name = [](const std::string& p) {
    fs::path path(p);
    std::string n = path.filename().string();
    if (n.empty()) n = path.parent_path().filename().string();
    return n.empty() ? p : n;
  };
  auto add = [&](std::string name, std::string m, std::string a) {
    std::string unique = name;
    for (int k = 2;; k++) {
      bool taken = false;
      for (const SystemSpec& s : specs) taken = taken || s.name == unique;
      if (!taken) break;
      unique = name + "-" + std::to_string(k);
    }
    specs.push_back({unique, std::move(m), std::move(a)});
  };
  add("base", model, "");
  if (!adapter.empty()) add(base_name(adapter), model, adapter);
  for (const std::string& c : compare) {
    if (fs::exists(fs::path(c) / "adapter_config.json"))
      add(base_name(c), model, c);
    else
      add(base_name(c), c, "");
  }
  return specs;
}

EvalTask eval_task_load(const std::string& data, const std::string& probes) {
  EvalTask t;
  DatasetOptions dopt;
  Dataset d = dataset_load(data, dopt);
  PromptSet task = examples_split(d.examples, data, t.examples);
  if (d.examples.empty()) throw Error(data, "no examples to evaluate");
  t.task = task_name(d.examples[0].task());
  t.conversations = std::move(task.examples);
  t.prompts = std::move(task.prompts);
  if (!probes.empty()) {
    Dataset p = dataset_load(probes, dopt);
    std::vector<EvalExample> shown;
    PromptSet pt = examples_split(p.examples, probes, shown);
    for (const EvalExample& e : shown) t.probes.push_back(e.prompt);
    t.probe_prompts = std::move(pt.prompts);
  }
  return t;
}

SystemOutputs eval_system_run(const Model& model, const ModelText& text, const LoraAdapter* lora, const EvalTask& t,
                              const DecodeSettings& decode, bool perplexity, const std::string& name,
                              const EvalProgress& progress) {
  SystemOutputs out;
  out.name = name;
  std::vector<std::vector<int32_t>> prompts;
  for (const auto& p : t.prompts) prompts.push_back(eval_prompt_ids(text, p));
  auto gens = eval_generate(model, text, prompts, lora, decode, [&](size_t done, size_t total) {
    if (progress) progress(name + ": generating", done, total);
  });
  for (Generation& g : gens) out.predictions.push_back(std::move(g.text));
  if (perplexity) {
    if (progress) progress(name + ": perplexity", 0, t.conversations.size());
    out.nll = eval_reference_nll(model, text, t.conversations, lora);
  }
  if (!t.probe_prompts.empty()) {
    std::vector<std::vector<int32_t>> pp;
    for (const auto& p : t.probe_prompts) pp.push_back(eval_prompt_ids(text, p));
    auto answers = eval_generate(model, text, pp, lora, decode, [&](size_t done, size_t total) {
      if (progress) progress(name + ": out-of-domain", done, total);
    });
    for (Generation& g : answers) out.probe_answers.push_back(std::move(g.text));
  }
  return out;
}

EvalInputs eval_run_models(const ModelEvalOptions& o, const EvalProgress& progress) {
  EvalInputs in;
  EvalTask task = eval_task_load(o.data, o.probes);
  in.task = task.task;
  in.examples = task.examples;
  in.probes = task.probes;
  std::map<std::string, std::unique_ptr<Loaded>> models;
  for (const SystemSpec& spec : o.systems) {
    auto& slot = models[spec.model];
    if (!slot) slot = std::make_unique<Loaded>(Loaded{model_load(spec.model), model_text_load(spec.model)});
    const Loaded& m = *slot;
    std::unique_ptr<LoraAdapter> lora;
    if (!spec.adapter.empty()) {
      lora = std::make_unique<LoraAdapter>(lora_load(spec.adapter, m.model.config));
      lora_prepare_decode(*lora);
    }
    SystemOutputs out = eval_system_run(m.model, m.text, lora.get(), task, o.decode, o.perplexity, spec.name, progress);
    in.systems.push_back(std::move(out));
  }
  if (!o.judge.empty()) {
    auto& slot = models[o.judge];
    if (!slot) slot = std::make_unique<Loaded>(Loaded{model_load(o.judge), model_text_load(o.judge)});
    in.judge_model = o.judge;
    for (size_t k = 1; k < in.systems.size(); k++)
      in.judgments.push_back(judge_run(*slot, in, k, progress));
  }
  return in;
}

EvalInputs eval_read_predictions(const std::string& path) {
  EvalInputs in;
  auto reader = JsonlReader::open(path);
  JsonlLine line;
  std::map<std::string, size_t> index;  // model -> systems[i]
  std::map<std::string, std::vector<size_t>> lines;
  std::map<std::string, std::vector<std::string>> refs, prompts;
  while (reader->next(line)) {
    const std::string where = path + ":" + std::to_string(line.number);
    if (!line.problem.empty()) throw Error(where, line.problem);
    if (line.text.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    json j = json::parse(line.text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) throw Error(where, "expected a JSON object");
    for (const char* f : {"prediction", "reference"})
      if (!j.contains(f) || !j[f].is_string()) throw Error(where + ": field " + f, "expected a string");
    for (const char* f : {"model", "prompt"})
      if (j.contains(f) && !j[f].is_string()) throw Error(where + ": field " + f, "expected a string");
    const std::string model = j.value("model", "predictions");
    if (!index.count(model)) {
      index[model] = in.systems.size();
      in.systems.push_back({model, {}, {}, {}});
    }
    in.systems[index[model]].predictions.push_back(j["prediction"]);
    refs[model].push_back(j["reference"]);
    prompts[model].push_back(j.value("prompt", ""));
    lines[model].push_back(line.number);
  }
  if (in.systems.empty()) throw Error(path, "no predictions in the file");
  const std::string first = in.systems[0].name;
  for (size_t i = 0; i < refs[first].size(); i++)
    in.examples.push_back({prompts[first][i], refs[first][i], lines[first][i]});
  for (const SystemOutputs& s : in.systems) {
    if (refs[s.name].size() != refs[first].size())
      throw Error(path, "model '" + s.name + "' has " + std::to_string(refs[s.name].size()) + " predictions, model '" +
                            first + "' has " + std::to_string(refs[first].size()),
                  "every model must answer the same examples in the same order");
    for (size_t i = 0; i < refs[first].size(); i++)
      if (refs[s.name][i] != refs[first][i])
        throw Error(path + ":" + std::to_string(lines[s.name][i]) + ": field reference",
                    "differs from model '" + first + "''s example " + std::to_string(i + 1) + " (line " +
                        std::to_string(lines[first][i]) + ")",
                    "every model must answer the same examples in the same order");
  }
  return in;
}

}  // namespace loam
