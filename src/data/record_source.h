// Records of a dataset file, whatever its container: JSONL (streamed), CSV or
// TSV with a header row (RFC 4180 quoting, embedded newlines), or one JSON
// array of objects. Each record carries the line it starts on.
//
// JSONL streams in bounded memory (see JsonlReader); CSV, TSV and JSON
// arrays are read whole, as `loam data prepare` inputs usually are small.
// Records come as JSON text (JSONL lines, array elements) or, for CSV/TSV, as
// an object of column -> string. Byte-level problems (invalid UTF-8, NUL,
// over-long lines, unterminated quotes, ragged rows) come back as
// Record::problem rather than exceptions; only I/O failures throw.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/jsonl_reader.h"

namespace loam {

enum class FileKind { Jsonl, Csv, Tsv, JsonArray };

// "jsonl", "csv", "tsv", "json" (also "ndjson").
std::optional<FileKind> file_kind_from_name(std::string_view name);
const char* file_kind_name(FileKind kind);
// By extension (.csv, .tsv, .json; anything else is JSONL). A .json file
// whose first non-blank byte is '{' is JSONL under another name.
FileKind file_kind_guess(const std::string& path);

struct Record {
  size_t line = 0;         // 1-based line the record starts on
  std::string_view text;   // JSON text (JSONL / JSON array); valid until next()
  nlohmann::json object;   // CSV/TSV row as {column: value}; null otherwise
  std::string problem;     // non-empty: the record is unusable
  bool blank = false;      // an empty or whitespace-only JSONL line
};

class RecordSource {
 public:
  static std::unique_ptr<RecordSource> open(const std::string& path, FileKind kind,
                                            const JsonlReaderOptions& options = {});
  // bytes must outlive the source.
  static std::unique_ptr<RecordSource> from_memory(std::string_view bytes, std::string name, FileKind kind,
                                                   const JsonlReaderOptions& options = {});
  bool next(Record& record);
  FileKind kind() const { return kind_; }
  size_t bytes_read() const;

 private:
  RecordSource() = default;
  void split_whole(std::string_view bytes);

  FileKind kind_ = FileKind::Jsonl;
  std::string name_;
  std::unique_ptr<JsonlReader> jsonl_;
  JsonlLine line_;
  std::string whole_;                 // CSV / JSON array contents
  std::vector<Record> records_;       // pre-split CSV / JSON array records
  size_t next_record_ = 0;
};

// RFC 4180 parsing of `text` with `delimiter` (',' or '\t'): the header row
// becomes the keys of each following row. Exposed for tests.
std::vector<Record> csv_records(std::string_view text, char delimiter);
// Splits a JSON array into its elements' text and starting lines, without
// parsing them. Exposed for tests.
std::vector<Record> json_array_records(std::string_view text);

}  // namespace loam
