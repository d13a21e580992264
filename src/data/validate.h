// Reading and validating a dataset file: every record is parsed into an
// Example and every problem reported as FILE:LINE:FIELD: message.
//
// dataset_validate streams: memory stays bounded by the largest line plus one
// 64-bit hash per example (for duplicate detection), whatever the file size.
// dataset_load keeps the examples and throws when there is any error, so "a
// file that fails validation never starts a job" (issue 3).
//
// Errors: invalid JSON (with column), invalid UTF-8, NUL bytes, nesting deeper
// than 64, missing/empty fields, wrong types, unknown roles, turns out of
// order, a chat not ending on a model turn (SFT) / a prompt not ending on a
// user turn (preference), preferred == rejected, ids out of the vocabulary,
// records in a different format than the file's first, a format for another
// task than --task, an empty file. Warnings: unknown fields, exact duplicates.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/example.h"
#include "data/field_check.h"
#include "data/jsonl_reader.h"
#include "data/record_source.h"

namespace loam {

struct DatasetOptions {
  std::optional<Task> task;            // required task; nullopt = whatever the format is
  std::optional<FileKind> file_kind;   // nullopt = guess from the file name
  std::string input_column, output_column;  // both set: read these as input_text/output_text
  std::string bucket_root;             // for gs:// URIs ("" = default, see uri.h)
  int32_t vocab_size = 0;              // > 0: pre-tokenized ids must be below it
  size_t max_issues = 1000;            // issues kept in the report (all are counted)
  int max_depth = 64;                  // deeper JSON nesting is an error
  JsonlReaderOptions reader;
};

struct ValidationReport {
  std::string uri;                 // as given
  std::string path;                // resolved local path
  FileKind file_kind = FileKind::Jsonl;
  std::optional<Format> format;    // from the first record that has one
  size_t n_records = 0;            // non-blank records
  size_t n_examples = 0;           // records without errors
  size_t n_errors = 0, n_warnings = 0;
  size_t n_duplicates = 0;         // examples identical to an earlier one
  size_t n_bytes = 0;
  std::vector<Issue> issues;       // the first max_issues, in file order
  std::map<std::string, size_t> labels;  // classification: examples per label

  bool ok() const { return n_errors == 0; }
  std::optional<Task> task() const { return format ? std::optional<Task>(format_task(*format)) : std::nullopt; }
};

// Called for every record without errors. raw: the record as JSON text.
// duplicate: an identical example came earlier.
using ExampleSink = std::function<void(Example&& example, std::string_view raw, bool duplicate)>;

ValidationReport dataset_validate(const std::string& uri, const DatasetOptions& options,
                                  const ExampleSink& sink = {});
// Same over an open source (tests, fuzzing); `name` appears in issues.
ValidationReport dataset_scan(RecordSource& source, const std::string& name, const DatasetOptions& options,
                              const ExampleSink& sink = {});

struct Dataset {
  ValidationReport report;
  std::vector<Example> examples;  // in file order, duplicates included
};
// Throws Error listing the first 10 errors when the file has any.
Dataset dataset_load(const std::string& uri, const DatasetOptions& options);

// The report as one JSON document (`loam data validate --json`): file,
// format, task, counts, issues [{severity, file, line, field, message}],
// labels.
nlohmann::json validation_report_to_json(const ValidationReport& r);

// Stable 64-bit hash of an example's content (format, roles, texts, ids).
uint64_t example_hash(const Example& e);

// 1-based column where nesting first exceeds max_depth, or 0.
size_t json_depth_exceeded(std::string_view text, int max_depth);

}  // namespace loam
