// `loam eval`: score models (or given predictions) against references and
// write results.json and report.html. Flags bind to EvalOptions here and
// nowhere else; the work lives in src/eval/.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "cli/commands.h"
#include "core/error.h"
#include "core/file_io.h"
#include "eval/eval_run.h"
#include "eval/refusal.h"
#include "eval/report_html.h"
#include "eval/results_json.h"
#include "eval/scoring.h"
#include "registry/data_dir.h"
#include "registry/model_ref.h"
#include "registry/store.h"

namespace loam::cli {
namespace {

using nlohmann::json;

struct EvalOptions {
  std::string judge;  // pairwise autorater model
  std::string tuned_model;  // a registered tuned model: its adapter (and its base when --model is not given)
  std::string data_dir;     // the registry the evaluation is recorded in
  std::string model, adapter, data, predictions, probes, refusal_phrases, metrics, labels, out = "loam-eval", output;
  std::vector<std::string> compare;
  int max_tokens = 128;      // new tokens per answer
  float temperature = 0.0f;  // 0 = greedy
  uint64_t seed = 0;         // sampling seed (temperature > 0)
  int batch_size = 8;
  int bootstrap = 1000;      // resamples for intervals (0 = none)
  uint64_t bootstrap_seed = 12345;
  bool rouge_stemmer = false;
};

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// Progress on stderr: a bar redrawn in place on a terminal, one line per
// finished phase otherwise.
void show_progress(const std::string& phase, size_t done, size_t total) {
  static const bool tty = isatty(STDERR_FILENO);
  if (tty) {
    const int width = 30;
    const int filled = total ? static_cast<int>(width * done / total) : width;
    std::fprintf(stderr, "\r%-28s [%s%s] %zu/%zu", phase.c_str(), std::string(static_cast<size_t>(filled), '#').c_str(),
                 std::string(static_cast<size_t>(width - filled), '.').c_str(), done, total);
    if (done == total) std::fprintf(stderr, "\n");
  } else if (done == total) {
    std::fprintf(stderr, "%s: %zu/%zu\n", phase.c_str(), done, total);
  }
  std::fflush(stderr);
}

std::string fmt(double v, const std::string& metric) {
  char buf[64];
  std::snprintf(buf, sizeof buf, metric == "bleu" || metric == "chrf" || metric == "perplexity" ? "%.2f" : "%.4f", v);
  return buf;
}

void print_summary(const EvalScores& s, const std::string& out_dir) {
  std::printf("%-24s", "metric");
  for (const SystemScores& sys : s.systems) std::printf("  %-28s", sys.name.c_str());
  std::printf("\n");
  if (s.systems.empty()) return;
  for (const MetricValue& m : s.systems[0].metrics) {
    std::printf("%-24s", m.name.c_str());
    for (const SystemScores& sys : s.systems)
      for (const MetricValue& v : sys.metrics)
        if (v.name == m.name) {
          std::string cell = fmt(v.value.value, m.name) + " [" + fmt(v.value.low, m.name) + ", " + fmt(v.value.high, m.name) + "]";
          std::printf("  %-28s", cell.c_str());
        }
    std::printf("\n");
  }
  for (const SystemComparison& c : s.comparisons) {
    std::printf("\n%s - %s\n", c.system.c_str(), c.baseline.c_str());
    for (const MetricComparison& m : c.metrics)
      std::printf("  %-22s %10s  [%s, %s]  p=%.4f%s\n", m.name.c_str(),
                  ((m.result.delta.value >= 0 ? "+" : "") + fmt(m.result.delta.value, m.name)).c_str(),
                  fmt(m.result.delta.low, m.name).c_str(), fmt(m.result.delta.high, m.name).c_str(), m.result.p_value,
                  m.result.p_value < 0.05 && m.result.delta.value != 0 ? "  *" : "");
  }
  for (const JudgeScores& j : s.judge)
    std::printf("\njudge: %s vs %s  win %.3f  tie %.3f  loss %.3f\n", j.system.c_str(), j.baseline.c_str(),
                j.win_rate.value, j.tie_rate.value, j.loss_rate.value);
  if (!out_dir.empty()) std::printf("\nresults: %s/results.json\nreport:  %s/report.html\n", out_dir.c_str(), out_dir.c_str());
}

namespace fs = std::filesystem;

std::string abs_path(const std::string& p) {
  std::error_code ec;
  fs::path a = fs::weakly_canonical(fs::absolute(p), ec);
  return ec ? p : a.string();
}

// A registered model (version) that is exactly this system: a tuned model
// whose adapter directory is `adapter`, or an imported model at `model`.
std::optional<ModelRecord> registered_system(Store& store, const SystemSpec& s) {
  for (const ModelRecord& m : store.model_list())
    for (const ModelRecord& v : store.model_versions(m.id)) {
      if (!s.adapter.empty()) {
        if (v.kind == "tuned" && abs_path(v.artifact_path) == abs_path(s.adapter)) return v;
      } else if (v.kind != "tuned" && (abs_path(v.artifact_path) == abs_path(s.model) || v.source_uri == s.model ||
                                       abs_path(v.source_uri) == abs_path(s.model))) {
        return v;
      }
    }
  return std::nullopt;
}

// A --compare entry or --tuned-model that names a registered model: a tuned
// model is its base plus its adapter, another model its checkpoint.
SystemSpec system_of_registered(Store& store, const std::string& ref, const std::string& field) {
  ModelRecord m = model_resolve(store, ref, field);
  model_artifact_check(m, field);
  if (m.kind != "tuned") return {m.display_name, m.artifact_path, ""};
  auto base = store.model_get(m.base_model_id, m.base_version_id);
  if (!base) throw Error(field, "the base model of " + m.id + " (" + m.base_model_id + ") is no longer registered");
  return {m.display_name, base->artifact_path, m.artifact_path};
}

void systems_unique(std::vector<SystemSpec>& specs) {
  for (size_t i = 1; i < specs.size(); i++) {
    const std::string name = specs[i].name;
    for (int k = 2;; k++) {
      bool taken = false;
      for (size_t j = 0; j < i; j++) taken = taken || specs[j].name == specs[i].name;
      if (!taken) break;
      specs[i].name = name + "-" + std::to_string(k);
    }
  }
}

// Each system's scores as an evaluation in the registry, linked to the model
// version it is when it is a registered one.
void record_evaluations(Store& store, const std::vector<SystemSpec>& systems, const EvalScores& scores,
                        const json& settings, const std::string& data, const std::string& results_path) {
  const std::string now = time_now_rfc3339();
  for (size_t i = 0; i < scores.systems.size(); i++) {
    const SystemScores& sys = scores.systems[i];
    EvaluationRecord e;
    e.id = id_new();
    e.system = sys.name;
    e.data_uri = data;
    e.settings = settings;
    e.results_path = results_path;
    e.create_time = now;
    for (const MetricValue& m : sys.metrics)
      e.metrics[m.name] = {{"value", m.value.value}, {"low", m.value.low}, {"high", m.value.high}, {"n", m.n}};
    std::optional<ModelRecord> model;
    if (i < systems.size()) {
      model = registered_system(store, systems[i]);
    } else {  // predictions mode: a system named like a registered model
      try {
        model = model_resolve(store, sys.name, "model");
      } catch (const Error&) {
      }
    }
    if (model) {
      e.model_id = model->id;
      e.model_version_id = model->version_id;
      if (model->kind == "tuned") e.job_id = model->job_id;
    }
    e.display_name = sys.name + (data.empty() ? "" : " on " + fs::path(data).filename().string());
    store.evaluation_insert(e);
    std::fprintf(stderr, "recorded evaluation %s%s\n", e.id.c_str(),
                 model ? (" of model " + model->id + "@" + std::to_string(model->version_id)).c_str() : "");
  }
}

void run_eval(EvalOptions o) {
  std::unique_ptr<Store> store = store_open(data_dir_resolve(o.data_dir));
  std::vector<SystemSpec> named;  // --compare entries that are registered names, not paths
  if (!o.tuned_model.empty()) {
    if (!o.adapter.empty()) throw Error("--tuned-model", "give either --tuned-model or --adapter");
    SystemSpec t = system_of_registered(*store, o.tuned_model, "--tuned-model");
    if (t.adapter.empty()) throw Error("--tuned-model", "'" + o.tuned_model + "' is not a tuned model", "use --compare for other models");
    if (o.model.empty()) o.model = t.model;
    named.push_back(t);
  }
  std::vector<std::string> compare_paths;
  for (const std::string& c : o.compare) {
    std::error_code ec;
    if (fs::exists(c, ec)) compare_paths.push_back(c);
    else named.push_back(system_of_registered(*store, c, "--compare"));
  }
  o.compare = compare_paths;

  const bool model_mode = !o.model.empty();
  if (model_mode == !o.predictions.empty())
    throw Error(model_mode ? "--predictions" : "--model", "give either --model (with --data) or --predictions");
  if (model_mode && o.data.empty()) throw Error("--data", "model mode needs the test data");
  if (!model_mode && (!o.adapter.empty() || !named.empty() || !o.compare.empty() || !o.probes.empty() || !o.data.empty() || !o.judge.empty()))
    throw Error("--predictions", "--adapter, --compare, --data, --out-of-domain and --judge need --model");
  if (!o.judge.empty() && o.adapter.empty() && o.compare.empty() && named.empty())
    throw Error("--judge", "needs a second system to compare (--adapter or --compare)");
  if (o.max_tokens <= 0) throw Error("--max-tokens", "must be positive");
  if (o.bootstrap < 0) throw Error("--bootstrap", "must be 0 or more");

  ScoreOptions score;
  score.metric_groups = split_list(o.metrics);
  score.rouge_stemmer = o.rouge_stemmer;
  score.labels = split_list(o.labels);
  score.bootstrap = {o.bootstrap, o.bootstrap_seed};
  if (!o.refusal_phrases.empty()) score.refusal = refusal_rule_load(o.refusal_phrases);
  score_options_check(score);
  const bool explicit_metrics = !score.metric_groups.empty();
  if (score_has_group(score, "perplexity") && !model_mode) throw Error("--metrics", "perplexity needs --model");
  if (score_has_group(score, "refusal") && o.probes.empty()) throw Error("--metrics", "refusal needs --out-of-domain");

  EvalInputs in;
  json settings;
  std::vector<SystemSpec> systems;
  if (model_mode) {
    ModelEvalOptions mo;
    mo.systems = system_specs(o.model, o.adapter, o.compare);
    mo.systems.insert(mo.systems.begin() + 1, named.begin(), named.end());
    systems_unique(mo.systems);
    mo.data = o.data;
    mo.probes = o.probes;
    mo.decode.max_tokens = o.max_tokens;
    mo.decode.sampling.temperature = o.temperature;
    mo.decode.sampling.seed = o.seed;
    mo.decode.batch_size = o.batch_size;
    mo.judge = o.judge;
    mo.perplexity = !explicit_metrics || score_has_group(score, "perplexity");
    in = eval_run_models(mo, show_progress);
    systems = mo.systems;
    json systems = json::array();
    for (const SystemSpec& s : mo.systems) systems.push_back({{"name", s.name}, {"model", s.model}, {"adapter", s.adapter}});
    settings = {{"data", o.data}, {"systems", systems}, {"max_tokens", o.max_tokens}, {"temperature", o.temperature},
                {"batch_size", o.batch_size}};
    if (!o.probes.empty()) settings["out_of_domain"] = o.probes;
    if (!o.judge.empty()) settings["judge"] = o.judge;
  } else {
    in = eval_read_predictions(o.predictions);
    settings = {{"predictions", o.predictions}};
  }
  if (!explicit_metrics) {
    if (in.task == "classification" || (!model_mode && !score.labels.empty()))
      score.metric_groups = {"classification"};
    else
      score.metric_groups = {"exact_match", "token_f1", "rouge", "bleu", "chrf"};
    if (model_mode) score.metric_groups.push_back("perplexity");
    if (!o.probes.empty()) score.metric_groups.push_back("refusal");
  }
  settings["metrics"] = score.metric_groups;
  settings["rouge_stemmer"] = o.rouge_stemmer;
  settings["bootstrap"] = {{"resamples", o.bootstrap}, {"seed", o.bootstrap_seed}};

  EvalScores scores = eval_score(in, score);
  json results = eval_results_json(in, scores, settings);
  if (!o.out.empty()) {
    std::filesystem::create_directories(o.out);
    file_write_atomic(o.out + "/results.json", results.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
    file_write_atomic(o.out + "/report.html", eval_report_html(in, scores, settings));
  }
  record_evaluations(*store, systems, scores, settings, o.data,
                     o.out.empty() ? "" : abs_path(o.out + "/results.json"));
  if (o.output == "json")
    std::printf("%s\n", results.dump(2, ' ', false, json::error_handler_t::replace).c_str());
  else
    print_summary(scores, o.out);
}

}  // namespace

void register_eval_command(CLI::App& app) {
  static EvalOptions o;
  CLI::App* c = app.add_subcommand("eval", "Score models (base vs tuned) or given predictions; write results.json and report.html");
  c->add_option("--model", o.model, "Base model directory or .gguf (model mode)");
  c->add_option("--adapter", o.adapter, "PEFT adapter directory: the tuned system, compared with the base");
  c->add_option("--tuned-model", o.tuned_model,
                "A registered tuned model (id, display name, @version): its adapter, on its base unless --model");
  c->add_option("--compare", o.compare, "More systems: adapter directories, other models, or registered model names")
      ->expected(1, -1);
  c->add_option("--data-dir", o.data_dir, "Registry the evaluation is recorded in (env LOAM_DATA_DIR, default ~/.loam)");
  c->add_option("--data", o.data, "Test data (any SFT or classification format loam data validate accepts)");
  c->add_option("--predictions", o.predictions, "Score given predictions: JSONL {\"prediction\",\"reference\"[,\"model\"][,\"prompt\"]}");
  c->add_option("--metrics", o.metrics,
                "Comma list of exact_match,token_f1,rouge,bleu,chrf,classification,perplexity,refusal (default: by task)");
  c->add_option("--labels", o.labels, "Classification labels a,b,c (default: the references' labels)");
  c->add_option("--out-of-domain", o.probes, "Prompts outside the task; reports the refusal rate");
  c->add_option("--refusal-phrases", o.refusal_phrases, "File of refusal phrases, one per line (default: built-in list)");
  c->add_flag("--rouge-stemmer", o.rouge_stemmer, "Porter-stem ROUGE tokens (rouge-score's use_stemmer)");
  c->add_option("--judge", o.judge, "Local instruct model that compares each pair of answers (both orders)");
  c->add_option("--max-tokens", o.max_tokens, "New tokens per answer")->capture_default_str();
  c->add_option("--temperature", o.temperature, "Sampling temperature (0 = greedy)")->capture_default_str();
  c->add_option("--seed", o.seed, "Sampling seed");
  c->add_option("--batch-size", o.batch_size, "Sequences decoded together")->capture_default_str();
  c->add_option("--bootstrap", o.bootstrap, "Bootstrap resamples for intervals and p-values (0 = none)")->capture_default_str();
  c->add_option("--bootstrap-seed", o.bootstrap_seed, "Seed of the bootstrap resamples")->capture_default_str();
  c->add_option("--out", o.out, "Directory for results.json and report.html (\"\" = write nothing)")->capture_default_str();
  c->add_option("--output", o.output, "json: print results.json instead of the summary table")->check(CLI::IsMember({"json", "table"}));
  c->callback([] { run_eval(o); });
}

}  // namespace loam::cli
