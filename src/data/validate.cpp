#include "data/validate.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <unordered_map>

#include "core/error.h"
#include "core/uri.h"
#include "data/format_parse.h"

namespace loam {

namespace {

struct Fnv {
  uint64_t h = 1469598103934665603ull;
  void bytes(const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  }
  void text(std::string_view s) {
    uint64_t n = s.size();
    bytes(&n, sizeof n);
    bytes(s.data(), s.size());
  }
  void turns(const std::vector<Turn>& ts) {
    uint64_t n = ts.size();
    bytes(&n, sizeof n);
    for (const Turn& t : ts) {
      char tag[2] = {char(t.role), char(t.trained)};
      bytes(tag, 2);
      text(t.text);
    }
  }
  void ids(const std::vector<int32_t>& v) {
    uint64_t n = v.size();
    bytes(&n, sizeof n);
    bytes(v.data(), v.size() * sizeof(int32_t));
  }
};

// Keeps the first max_issues and counts all.
struct IssueLog {
  ValidationReport& report;
  size_t max_issues;
  std::vector<Issue> pending;
  void flush() {
    for (Issue& i : pending) {
      (i.severity == Severity::Error ? report.n_errors : report.n_warnings)++;
      if (report.issues.size() < max_issues) report.issues.push_back(std::move(i));
    }
    pending.clear();
  }
};

// "syntax error while parsing value - invalid literal; last read: 'x'" from
// nlohmann's "[json.exception.parse_error.101] parse error at line 1, column 3: ...".
std::string parse_error_text(const nlohmann::json::parse_error& e) {
  std::string what = e.what();
  size_t colon = what.find(": ");
  return utf8_clean(colon == std::string::npos ? what : what.substr(colon + 2), 160);
}

struct Scanner {
  Scanner(const std::string& n, const DatasetOptions& o, const ExampleSink& s) : name(n), options(o), sink(s) {}
  const std::string& name;
  const DatasetOptions& options;
  const ExampleSink& sink;
  ValidationReport report;
  IssueLog log{report, options.max_issues, {}};
  size_t format_line = 0;
  bool task_reported = false;
  std::unordered_map<uint64_t, size_t> seen;  // example hash -> first line

  void record(Record& r);
  bool object_of(Record& r, FieldCheck& check, nlohmann::json& obj);
  bool format_for(const nlohmann::json& obj, FieldCheck& check, Format& f, size_t line);
};

// Parses r.text into r.object, or sets r.problem. Independent per record, so
// batches of records parse in parallel.
void record_parse(Record& r, int max_depth) {
  if (r.blank || !r.problem.empty() || !r.object.is_null()) return;
  if (size_t col = json_depth_exceeded(r.text, max_depth)) {
    r.problem = "invalid JSON at column " + std::to_string(col) + ": nesting deeper than " +
                std::to_string(max_depth) + " levels";
    return;
  }
  try {
    r.object = nlohmann::json::parse(r.text.begin(), r.text.end());
  } catch (const nlohmann::json::parse_error& e) {
    r.problem = "invalid JSON at column " + std::to_string(e.byte) + ": " + parse_error_text(e);
  } catch (const nlohmann::json::exception& e) {  // e.g. out_of_range: a number too large for a double
    r.problem = "invalid JSON: " + utf8_clean(std::string(e.what()).substr(std::string(e.what()).find("] ") + 2), 160);
  }
}

bool Scanner::object_of(Record& r, FieldCheck& check, nlohmann::json& obj) {
  record_parse(r, options.max_depth);
  if (!r.problem.empty()) {
    check.error("", r.problem);
    return false;
  }
  obj = std::move(r.object);
  if (!obj.is_object()) {
    check.error("", "expected a JSON object (one example per line), got " + json_type_phrase(obj));
    return false;
  }
  if (!options.input_column.empty() && !options.output_column.empty()) {
    nlohmann::json mapped = nlohmann::json::object();
    for (const auto& [col, key] : {std::pair{options.input_column, "input_text"},
                                   std::pair{options.output_column, "output_text"}}) {
      auto it = obj.find(col);
      if (it == obj.end()) {
        std::string have;
        for (auto k = obj.begin(); k != obj.end(); ++k) have += (have.empty() ? "" : ", ") + k.key();
        check.error(col, "missing column (the record has: " + have + ")");
        return false;
      }
      mapped[key] = *it;
    }
    obj = std::move(mapped);
  }
  return true;
}

bool Scanner::format_for(const nlohmann::json& obj, FieldCheck& check, Format& f, size_t line) {
  std::optional<Format> detected = format_detect(obj);
  if (!report.format) {
    if (!detected) {
      std::string keys;
      for (auto k = obj.begin(); k != obj.end(); ++k) keys += (keys.empty() ? "" : ", ") + k.key();
      check.error("", "cannot tell the dataset format from the fields {" + keys + "}; expected one of: " +
                          format_summary());
      return false;
    }
    report.format = detected;
    format_line = line;
    Task t = format_task(*detected);
    bool task_ok = !options.task || *options.task == t ||
                   (*options.task == Task::Sft && t == Task::Classification);
    if (!task_ok && !task_reported) {
      task_reported = true;
      check.error("", std::string("the file is in the ") + format_name(*detected) + " format, which is for " +
                          task_name(t) + " tuning, not " + task_name(*options.task));
    }
  } else if (detected != report.format && !format_shares_fields(*report.format, obj)) {
    check.error("", std::string("this record is in the ") + (detected ? format_name(*detected) : "an unknown") +
                        " format but the file is in the " + format_name(*report.format) + " format (set by line " +
                        std::to_string(format_line) + "); use one format per file");
    return false;
  }
  f = *report.format;
  return true;
}

void Scanner::record(Record& r) {
  if (r.blank) return;
  ++report.n_records;
  FieldCheck check(name, r.line, log.pending);
  nlohmann::json obj;
  Format f;
  if (!object_of(r, check, obj) || !format_for(obj, check, f, r.line)) {
    log.flush();
    return;
  }
  Example e;
  e.format = f;
  e.line = r.line;
  ParseOptions po;
  po.vocab_size = options.vocab_size;
  if (format_parse(f, obj, check, e, po)) {
    ++report.n_examples;
    if (f == Format::TextLabel) ++report.labels[e.label];
    auto [it, fresh] = seen.emplace(example_hash(e), r.line);
    if (!fresh) {
      ++report.n_duplicates;
      check.warning("", "duplicate of the example on line " + std::to_string(it->second));
    }
    if (sink) {
      std::string dumped;
      std::string_view raw = r.text;
      if (raw.empty() || !options.input_column.empty()) raw = dumped = obj.dump();
      sink(std::move(e), raw, !fresh);
    }
  }
  log.flush();
}

}  // namespace

nlohmann::json validation_report_to_json(const ValidationReport& r) {
  nlohmann::json issues = nlohmann::json::array();
  for (const Issue& i : r.issues) {
    nlohmann::json j = {{"severity", i.severity == Severity::Error ? "error" : "warning"},
                        {"file", i.file},
                        {"message", i.message}};
    if (i.line > 0) j["line"] = i.line;
    if (!i.field.empty()) j["field"] = i.field;
    issues.push_back(std::move(j));
  }
  nlohmann::json labels = nlohmann::json::object();
  for (const auto& [label, n] : r.labels) labels[label] = n;
  return {{"file", r.uri},
          {"path", r.path},
          {"ok", r.ok()},
          {"format", r.format ? nlohmann::json(format_name(*r.format)) : nlohmann::json(nullptr)},
          {"task", r.task() ? nlohmann::json(task_name(*r.task())) : nlohmann::json(nullptr)},
          {"records", r.n_records},
          {"examples", r.n_examples},
          {"errors", r.n_errors},
          {"warnings", r.n_warnings},
          {"duplicates", r.n_duplicates},
          {"issues", std::move(issues)},
          {"issues_omitted", r.n_errors + r.n_warnings - r.issues.size()},
          {"labels", std::move(labels)}};
}

uint64_t example_hash(const Example& e) {
  Fnv h;
  char f = char(e.format);
  h.bytes(&f, 1);
  h.turns(e.turns);
  h.text(e.label);
  h.turns(e.chosen);
  h.turns(e.rejected);
  h.ids(e.input_ids);
  h.ids(e.labels);
  h.ids(e.prompt_ids);
  h.ids(e.chosen_ids);
  h.ids(e.rejected_ids);
  return h.h;
}

size_t json_depth_exceeded(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i + 1;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return 0;
}

constexpr size_t kBatchRecords = 2048, kBatchBytes = size_t(4) << 20;

ValidationReport dataset_scan(RecordSource& source, const std::string& name, const DatasetOptions& options,
                              const ExampleSink& sink) {
  Scanner s(name, options, sink);
  s.report.uri = name;
  s.report.path = name;
  s.report.file_kind = source.kind();
  // Pipeline: while one worker per core parses batch k's JSON (the costly
  // part), the calling thread reads batch k+1; then it checks batch k in file
  // order. (Measured on 2 cores: faster than having the reader join the
  // parsing, as reading is short and the cores stay busy.)
  // Memory: two batches of lines and their DOMs, whatever the file size.
  struct Batch {
    std::vector<Record> records;
    std::vector<std::string> texts = std::vector<std::string>(kBatchRecords);  // views into it stay valid
  };
  auto fill = [&](Batch& b) {
    b.records.clear();
    size_t bytes = 0;
    Record r;
    while (b.records.size() < kBatchRecords && bytes < kBatchBytes && source.next(r)) {
      bytes += r.text.size();
      std::string& copy = b.texts[b.records.size()];  // the reader's view dies at its next call
      copy.assign(r.text);
      r.text = copy;
      b.records.push_back(std::move(r));
      r = Record{};
    }
  };
  const size_t n_workers = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 32);
  Batch cur, next;
  fill(cur);
  while (!cur.records.empty()) {
    std::vector<std::thread> workers;
    std::atomic<size_t> next_chunk{0};
    auto work = [&] {  // chunks of 32 records, taken in turn
      for (size_t c; (c = next_chunk.fetch_add(32)) < cur.records.size();)
        for (size_t i = c; i < std::min(c + 32, cur.records.size()); ++i) record_parse(cur.records[i], options.max_depth);
    };
    if (cur.records.size() > 64)
      for (size_t w = 0; w < n_workers; ++w) workers.emplace_back(work);
    fill(next);
    if (workers.empty()) work();
    for (std::thread& t : workers) t.join();
    for (Record& rec : cur.records) s.record(rec);
    std::swap(cur, next);
  }
  s.report.n_bytes = source.bytes_read();
  if (s.report.n_records == 0 && s.report.n_errors == 0) {
    FieldCheck check(name, 0, s.log.pending);
    check.error("", "the file has no examples (it is empty or only whitespace)");
    s.log.flush();
  }
  return std::move(s.report);
}

ValidationReport dataset_validate(const std::string& uri, const DatasetOptions& options, const ExampleSink& sink) {
  std::string path = uri_resolve(uri, options.bucket_root);
  FileKind kind = options.file_kind ? *options.file_kind : file_kind_guess(path);
  std::unique_ptr<RecordSource> source = RecordSource::open(path, kind, options.reader);
  ValidationReport report = dataset_scan(*source, uri, options, sink);
  report.path = path;
  return report;
}

Dataset dataset_load(const std::string& uri, const DatasetOptions& options) {
  Dataset d;
  d.report = dataset_validate(uri, options, [&](Example&& e, std::string_view, bool) {
    d.examples.push_back(std::move(e));
  });
  if (!d.report.ok()) {
    std::string msg = std::to_string(d.report.n_errors) + " problem(s) in the dataset:";
    size_t shown = 0;
    for (const Issue& i : d.report.issues) {
      if (i.severity != Severity::Error) continue;
      msg += "\n  " + issue_format(i);
      if (++shown == 10) break;
    }
    if (d.report.n_errors > shown) msg += "\n  ... and " + std::to_string(d.report.n_errors - shown) + " more";
    throw Error(ErrorKind::DataError, uri, msg, "run `loam data validate " + uri + "` for the full report");
  }
  return d;
}

}  // namespace loam
