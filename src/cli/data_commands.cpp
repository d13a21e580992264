// Dataset commands: data validate | prepare | split | stats.
//
// Problems go to stderr as FILE:LINE:FIELD: message; summaries to stdout (or
// one JSON document with --json). A command whose input has errors throws
// loam::Error after printing them, so main() exits 1; warnings never fail.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "core/error.h"
#include "data/prepare.h"
#include "data/split.h"
#include "data/stats.h"
#include "data/validate.h"
#include "tokenizer/model_text.h"

namespace loam::cli {
namespace {

using nlohmann::json;

// Flags shared by every data command.
struct DataOptions {
  std::string file;
  std::string task;          // "" | sft | classification | preference
  std::string file_format;   // "" | jsonl | csv | tsv | json
  std::string input_column, output_column;
  std::string bucket_root;
  std::string model;         // "" = no token statistics
  int max_seq_length = 0;    // 0 = no limit
  bool json = false;
};

void add_common(CLI::App* c, DataOptions& o) {
  c->add_option("--task", o.task, "Require this task: sft, classification or preference")
      ->check(CLI::IsMember({"sft", "classification", "preference"}));
  c->add_option("--format", o.file_format, "Input container: jsonl, csv, tsv or json (default: from the extension)")
      ->check(CLI::IsMember({"jsonl", "ndjson", "csv", "tsv", "json"}));
  c->add_option("--input-column", o.input_column, "Read this column/field as input_text");
  c->add_option("--output-column", o.output_column, "Read this column/field as output_text");
  c->add_option("--bucket-root", o.bucket_root, "Local directory that gs://BUCKET/... maps to");
}

DatasetOptions dataset_options(const DataOptions& o) {
  DatasetOptions d;
  if (!o.task.empty()) d.task = task_from_name(o.task);
  if (!o.file_format.empty()) d.file_kind = file_kind_from_name(o.file_format);
  if (o.input_column.empty() != o.output_column.empty())
    throw Error(o.input_column.empty() ? "--output-column" : "--input-column",
                "--input-column and --output-column go together");
  d.input_column = o.input_column;
  d.output_column = o.output_column;
  d.bucket_root = o.bucket_root;
  return d;
}

void print_issues(const ValidationReport& r) {
  for (const Issue& i : r.issues) std::fprintf(stderr, "%s\n", issue_format(i).c_str());
  size_t omitted = r.n_errors + r.n_warnings - r.issues.size();
  if (omitted > 0) std::fprintf(stderr, "%s: ... and %zu more problems not shown\n", r.uri.c_str(), omitted);
}

void print_summary(const ValidationReport& r) {
  std::printf("%s: %zu examples", r.uri.c_str(), r.n_examples);
  if (r.format) std::printf(" (format %s, task %s)", format_name(*r.format), task_name(*r.task()));
  std::printf("; %zu error%s, %zu warning%s, %zu duplicate%s\n", r.n_errors, r.n_errors == 1 ? "" : "s",
              r.n_warnings, r.n_warnings == 1 ? "" : "s", r.n_duplicates, r.n_duplicates == 1 ? "" : "s");
  if (!r.labels.empty()) {
    std::printf("labels:");
    for (const auto& [label, n] : r.labels) std::printf(" %s=%zu", label.c_str(), n);
    std::printf("\n");
  }
}

void print_token_stats(const TokenStats& s) {
  std::printf("tokens per example (after the chat template): min %zu, median %zu, p95 %zu, max %zu\n", s.min,
              s.median, s.p95, s.max);
  if (s.max_seq_length > 0)
    std::printf("examples over --max-seq-length %d: %zu (they would be truncated)\n", s.max_seq_length, s.n_over_max);
  std::printf("total training tokens: %zu (%zu with loss)\n", s.total_tokens, s.scored_tokens);
}

// Validates (and, with a model, tokenizes) o.file; prints; throws on errors.
void run_validate(const DataOptions& o, bool stats_only) {
  DatasetOptions d = dataset_options(o);
  std::optional<ModelText> model;
  std::unique_ptr<TokenStatsAccumulator> acc;
  if (!o.model.empty()) {
    model = model_text_load(o.model);
    d.vocab_size = model->tokenizer.vocab_size();
    acc = std::make_unique<TokenStatsAccumulator>(*model, o.max_seq_length);
  }
  size_t n_template_errors = 0;
  ValidationReport r = dataset_validate(o.file, d, [&](Example&& e, std::string_view, bool) {
    if (!acc) return;
    try {
      acc->add(e);
    } catch (const Error& err) {  // the model's template rejects this example: a data problem too
      if (n_template_errors++ < 20)
        std::fprintf(stderr, "%s:%zu: chat template: %s\n", o.file.c_str(), e.line, err.what());
    }
  });
  r.n_errors += n_template_errors;
  std::optional<TokenStats> stats;
  if (acc) stats = acc->finish();
  if (o.json) {
    json j = validation_report_to_json(r);
    if (stats) j["tokens"] = token_stats_to_json(*stats);
    std::printf("%s\n", j.dump(2, ' ', false, json::error_handler_t::replace).c_str());
  } else {
    print_issues(r);
    if (!stats_only || !r.ok()) print_summary(r);
    if (stats) print_token_stats(*stats);
  }
  std::fflush(stdout);
  if (!r.ok())
    throw Error(ErrorKind::DataError, o.file, std::to_string(r.n_errors) + " error" + (r.n_errors == 1 ? "" : "s") + " in the dataset");
}

struct PrepareOptions {
  DataOptions data;
  std::string out;
  std::string output = "text";  // what to print: text or json
};

void run_prepare(const PrepareOptions& o) {
  PrepareResult r = dataset_prepare(o.data.file, o.out, dataset_options(o.data));
  print_issues(r.report);
  if (!r.report.ok())
    throw Error(ErrorKind::DataError, o.data.file, std::to_string(r.report.n_errors) + " error(s); nothing written to " + o.out);
  if (o.output == "json") {
    json j = validation_report_to_json(r.report);
    j["out"] = o.out;
    j["written"] = r.n_written;
    std::printf("%s\n", j.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    return;
  }
  std::printf("wrote %zu examples to %s (from %s, format %s)\n", r.n_written, o.out.c_str(),
              file_kind_name(r.report.file_kind), format_name(*r.report.format));
}

struct SplitCliOptions {
  DataOptions data;
  SplitOptions split;
  std::string train, validation;
  std::string output = "text";  // what to print: text or json
};

void run_split(const SplitCliOptions& o) {
  SplitResult r = dataset_split(o.data.file, o.train, o.validation, dataset_options(o.data), o.split);
  print_issues(r.report);
  if (!r.report.ok())
    throw Error(ErrorKind::DataError, o.data.file, std::to_string(r.report.n_errors) + " error(s); nothing written");
  if (o.output == "json") {
    json labels = json::object();
    for (const auto& [label, n] : r.labels) labels[label] = {{"train", n.first}, {"validation", n.second}};
    std::printf("%s\n", json{{"train", {{"path", o.train}, {"examples", r.n_train}}},
                             {"validation", {{"path", o.validation}, {"examples", r.n_validation}}},
                             {"duplicates_removed", r.n_duplicates_removed}, {"labels", labels},
                             {"seed", o.split.seed}, {"validation_fraction", o.split.validation_fraction}}
                            .dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    return;
  }
  std::printf("train: %zu examples -> %s\nvalidation: %zu examples -> %s\nduplicates removed: %zu\n", r.n_train,
              o.train.c_str(), r.n_validation, o.validation.c_str(), r.n_duplicates_removed);
  for (const auto& [label, n] : r.labels)
    std::printf("  label %s: %zu train, %zu validation\n", label.c_str(), n.first, n.second);
}

}  // namespace

void register_data_commands(CLI::App& app) {
  CLI::App* data = app.add_subcommand("data", "Dataset tools: validate, prepare, split, stats");
  data->require_subcommand(1);

  auto validate = std::make_shared<DataOptions>();
  CLI::App* v = data->add_subcommand("validate", "Check every line of a dataset and report every problem");
  v->add_option("file", validate->file, "Dataset (path, file://, gs://)")->required();
  v->add_option("--model", validate->model, "Model (directory, tokenizer.json or .gguf) for token statistics");
  v->add_option("--max-seq-length", validate->max_seq_length, "Count examples longer than this many tokens");
  v->add_flag("--json", validate->json, "Print one JSON document");
  add_common(v, *validate);
  v->callback([validate] { run_validate(*validate, false); });

  auto stats = std::make_shared<DataOptions>();
  CLI::App* s = data->add_subcommand("stats", "Token statistics of a dataset under a model's chat template");
  s->add_option("file", stats->file, "Dataset (path, file://, gs://)")->required();
  s->add_option("--model", stats->model, "Model (directory, tokenizer.json or .gguf)")->required();
  s->add_option("--max-seq-length", stats->max_seq_length, "Count examples longer than this many tokens");
  s->add_flag("--json", stats->json, "Print one JSON document");
  add_common(s, *stats);
  s->callback([stats] { run_validate(*stats, true); });

  auto prepare = std::make_shared<PrepareOptions>();
  CLI::App* p = data->add_subcommand("prepare", "Convert CSV/TSV/JSON/JSONL into canonical JSONL");
  p->add_option("in", prepare->data.file, "Input dataset")->required();
  p->add_option("--out", prepare->out, "Output .jsonl (written atomically)")->required();
  p->add_option("--output", prepare->output, "What to print: text or json")->check(CLI::IsMember({"text", "json"}));
  add_common(p, prepare->data);
  p->callback([prepare] { run_prepare(*prepare); });

  auto split = std::make_shared<SplitCliOptions>();
  CLI::App* sp = data->add_subcommand("split", "Reproducible train/validation split (stratified for classification)");
  sp->add_option("in", split->data.file, "Input dataset")->required();
  sp->add_option("--validation-fraction", split->split.validation_fraction, "Share of examples for validation")
      ->default_val(0.1);
  sp->add_option("--seed", split->split.seed, "Shuffle seed")->default_val(0);
  sp->add_option("--train", split->train, "Output train .jsonl")->required();
  sp->add_option("--validation", split->validation, "Output validation .jsonl")->required();
  sp->add_option("--output", split->output, "What to print: text or json")->check(CLI::IsMember({"text", "json"}));
  add_common(sp, split->data);
  sp->callback([split] { run_split(*split); });
}

}  // namespace loam::cli
