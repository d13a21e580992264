#include "eval/results_json.h"

namespace loam {

using nlohmann::json;

nlohmann::json eval_results_json(const EvalInputs& in, const EvalScores& s, const nlohmann::json& settings) {
  json j = {{"version", 1}, {"settings", settings}};
  json systems = json::array();
  for (const SystemScores& sys : s.systems) {
    json m = json::object();
    for (const MetricValue& v : sys.metrics)
      m[v.name] = {{"value", v.value.value}, {"low", v.value.low}, {"high", v.value.high}, {"n", v.n}};
    json js = {{"name", sys.name}, {"metrics", m}};
    if (sys.classification) {
      const ClassificationReport& c = *sys.classification;
      json per = json::array();
      for (const ClassReport& cr : c.classes)
        per.push_back({{"label", cr.label}, {"precision", cr.precision}, {"recall", cr.recall}, {"f1", cr.f1},
                       {"support", cr.support}});
      json invalid = json::array();
      for (size_t i = 0; i < sys.predicted_labels.size(); i++)
        if (sys.predicted_labels[i] == kInvalidLabel) invalid.push_back(i);
      js["classification"] = {{"labels", s.labels}, {"per_class", per}, {"confusion", c.confusion},
                              {"invalid", c.n_invalid}, {"invalid_examples", invalid}};
    }
    systems.push_back(js);
  }
  j["systems"] = systems;
  json comparisons = json::array();
  for (const SystemComparison& c : s.comparisons) {
    json m = json::object();
    for (const MetricComparison& mc : c.metrics)
      m[mc.name] = {{"delta", mc.result.delta.value}, {"low", mc.result.delta.low}, {"high", mc.result.delta.high},
                    {"p_value", mc.result.p_value}};
    comparisons.push_back({{"system", c.system}, {"baseline", c.baseline}, {"metrics", m}});
  }
  j["comparisons"] = comparisons;
  json examples = json::array();
  for (size_t i = 0; i < in.examples.size(); i++) {
    json outputs = json::object(), scores = json::object();
    for (size_t k = 0; k < in.systems.size(); k++) {
      outputs[in.systems[k].name] = in.systems[k].predictions[i];
      json sc = json::object();
      for (const auto& [name, v] : s.systems[k].per_example) sc[name] = v[i];
      scores[in.systems[k].name] = sc;
    }
    examples.push_back({{"index", i}, {"line", in.examples[i].line}, {"prompt", in.examples[i].prompt},
                        {"reference", in.examples[i].reference}, {"outputs", outputs}, {"scores", scores}});
  }
  j["examples"] = examples;
  json ood = json::array();
  for (size_t i = 0; i < in.probes.size(); i++) {
    json answers = json::object();
    for (size_t k = 0; k < in.systems.size(); k++) {
      if (in.systems[k].probe_answers.size() != in.probes.size()) continue;
      const std::string phrase = i < s.systems[k].refusal_matches.size() ? s.systems[k].refusal_matches[i] : "";
      answers[in.systems[k].name] = {{"text", in.systems[k].probe_answers[i]}, {"refused", !phrase.empty()},
                                     {"phrase", phrase}};
    }
    ood.push_back({{"prompt", in.probes[i]}, {"answers", answers}});
  }
  j["out_of_domain"] = ood;
  if (!in.judge_model.empty()) {
    json runs = json::array();
    for (size_t r = 0; r < in.judgments.size() && r < s.judge.size(); r++) {
      const JudgeRun& jr = in.judgments[r];
      const JudgeScores& js = s.judge[r];
      auto iv = [](const Interval& v) { return json{{"value", v.value}, {"low", v.low}, {"high", v.high}}; };
      json per = json::array();
      for (size_t i = 0; i < jr.outcome.size(); i++)
        per.push_back({{"outcome", jr.outcome[i]}, {"reply_baseline_first", jr.reply_baseline_first[i]},
                       {"reply_system_first", jr.reply_system_first[i]}});
      runs.push_back({{"system", jr.system}, {"baseline", jr.baseline}, {"win_rate", iv(js.win_rate)},
                      {"tie_rate", iv(js.tie_rate)}, {"loss_rate", iv(js.loss_rate)}, {"no_verdict", jr.n_no_verdict},
                      {"examples", per}});
    }
    j["judge"] = {{"model", in.judge_model}, {"comparisons", runs}};
  }
  return j;
}

}  // namespace loam
