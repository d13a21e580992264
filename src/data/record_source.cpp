#include "data/record_source.h"

#include <cctype>
#include <cstring>
#include <set>

#include "core/error.h"
#include "core/file_io.h"

namespace loam {

std::optional<FileKind> file_kind_from_name(std::string_view name) {
  if (name == "jsonl" || name == "ndjson") return FileKind::Jsonl;
  if (name == "csv") return FileKind::Csv;
  if (name == "tsv") return FileKind::Tsv;
  if (name == "json") return FileKind::JsonArray;
  return std::nullopt;
}

const char* file_kind_name(FileKind kind) {
  switch (kind) {
    case FileKind::Jsonl: return "jsonl";
    case FileKind::Csv: return "csv";
    case FileKind::Tsv: return "tsv";
    case FileKind::JsonArray: return "json";
  }
  return "?";
}

FileKind file_kind_guess(const std::string& path) {
  auto ends = [&](std::string_view ext) {
    if (path.size() < ext.size()) return false;
    for (size_t i = 0; i < ext.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(path[path.size() - ext.size() + i])) != ext[i]) return false;
    return true;
  };
  if (ends(".csv")) return FileKind::Csv;
  if (ends(".tsv")) return FileKind::Tsv;
  if (ends(".json")) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    int c = EOF;
    if (f) {
      while ((c = std::fgetc(f)) != EOF && (std::isspace(c) || c == 0xEF || c == 0xBB || c == 0xBF)) {
      }
      std::fclose(f);
    }
    return c == '{' ? FileKind::Jsonl : FileKind::JsonArray;
  }
  return FileKind::Jsonl;
}

namespace {

// Byte-level checks shared with JSONL; empty when fine.
std::string bytes_problem(std::string_view s) {
  if (const void* nul = std::memchr(s.data(), '\0', s.size()))
    return "NUL byte at offset " + std::to_string(static_cast<const char*>(nul) - s.data() + 1) + " of the record";
  size_t bad = utf8_invalid_offset(s);
  if (bad != std::string_view::npos) return "invalid UTF-8 at offset " + std::to_string(bad + 1) + " of the record";
  return {};
}

struct CsvRow {
  size_t line = 0;
  std::vector<std::string> fields;
  std::string problem;
  std::string_view raw;
};

// One row starting at text[i]; advances i past its terminator and line past
// its newlines.
CsvRow csv_row(std::string_view text, size_t& i, size_t& line, char delim) {
  CsvRow row;
  row.line = line;
  size_t start = i;
  std::string field;
  for (;;) {
    if (i < text.size() && text[i] == '"') {
      size_t open_line = line;
      ++i;
      for (;;) {
        if (i >= text.size()) {
          row.problem = "unterminated quoted field (opened on line " + std::to_string(open_line) + ")";
          row.raw = text.substr(start, i - start);
          return row;
        }
        char c = text[i++];
        if (c == '"') {
          if (i < text.size() && text[i] == '"') {
            field += '"';
            ++i;
            continue;
          }
          break;
        }
        if (c == '\n') ++line;
        field += c;
      }
      if (i < text.size() && text[i] != delim && text[i] != '\n' && text[i] != '\r' && row.problem.empty())
        row.problem = "unexpected character after a closing quote (quotes inside a field are written \"\")";
    }
    while (i < text.size() && text[i] != delim && text[i] != '\n') field += text[i++];
    if (i < text.size() && text[i] == delim) {
      row.fields.push_back(std::move(field));
      field.clear();
      ++i;
      continue;
    }
    if (!field.empty() && field.back() == '\r') field.pop_back();
    row.fields.push_back(std::move(field));
    row.raw = text.substr(start, i - start);
    if (i < text.size()) {  // the newline
      ++i;
      ++line;
    }
    return row;
  }
}

}  // namespace

std::vector<Record> csv_records(std::string_view text, char delim) {
  std::vector<Record> out;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  size_t i = 0, line = 1;
  std::vector<std::string> header;
  while (i < text.size()) {
    CsvRow row = csv_row(text, i, line, delim);
    if (row.problem.empty()) row.problem = bytes_problem(row.raw);
    bool blank = row.fields.size() == 1 && row.fields[0].find_first_not_of(" \t\r") == std::string::npos;
    if (blank && row.problem.empty()) continue;
    Record r;
    r.line = row.line;
    if (header.empty()) {
      if (!row.problem.empty()) {
        r.problem = "header row: " + row.problem;
        out.push_back(std::move(r));
        return out;
      }
      std::set<std::string> seen;
      for (const std::string& h : row.fields) {
        if (h.empty() || !seen.insert(h).second) {
          r.problem = h.empty() ? "header row has an empty column name"
                                : "header row names column \"" + h + "\" twice";
          out.push_back(std::move(r));
          return out;
        }
      }
      header = std::move(row.fields);
      continue;
    }
    if (!row.problem.empty()) {
      r.problem = row.problem;
    } else if (row.fields.size() != header.size()) {
      r.problem = "row has " + std::to_string(row.fields.size()) + " fields but the header has " +
                  std::to_string(header.size());
    } else {
      r.object = nlohmann::json::object();
      for (size_t k = 0; k < header.size(); ++k) r.object[header[k]] = std::move(row.fields[k]);
    }
    out.push_back(std::move(r));
  }
  if (header.empty()) {
    Record r;
    r.line = 1;
    r.problem = "the file has no header row";
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<Record> json_array_records(std::string_view text) {
  std::vector<Record> out;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  size_t i = 0, line = 1;
  auto skip_ws = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
      line += text[i++] == '\n';
  };
  auto fail = [&](std::string msg) {
    Record r;
    r.line = line;
    r.problem = std::move(msg);
    out.push_back(std::move(r));
    return out;
  };
  skip_ws();
  if (i >= text.size() || text[i] != '[') return fail("expected a JSON array of examples ('[' first)");
  ++i;
  skip_ws();
  if (i < text.size() && text[i] == ']') return out;
  for (;;) {
    skip_ws();
    size_t start = i, start_line = line;
    int depth = 0;
    bool in_string = false;
    for (; i < text.size(); ++i) {  // to the end of one element, strings and nesting respected
      char c = text[i];
      if (c == '\n') ++line;
      if (in_string) {
        if (c == '\\') ++i;
        else if (c == '"') in_string = false;
        continue;
      }
      if (c == '"') in_string = true;
      else if (c == '[' || c == '{') ++depth;
      else if (c == ']' || c == '}') {
        if (depth == 0) break;
        --depth;
      } else if (c == ',' && depth == 0) break;
    }
    if (i >= text.size()) return fail("unterminated JSON array (no closing ']')");
    Record r;
    r.line = start_line;
    r.text = text.substr(start, i - start);
    while (!r.text.empty() && std::isspace(static_cast<unsigned char>(r.text.back()))) r.text.remove_suffix(1);
    r.problem = bytes_problem(r.text);
    if (!r.problem.empty()) r.text = {};
    out.push_back(std::move(r));
    if (text[i++] == ']') break;
  }
  skip_ws();
  if (i < text.size()) return fail("unexpected text after the closing ']'");
  return out;
}

std::unique_ptr<RecordSource> RecordSource::open(const std::string& path, FileKind kind,
                                                 const JsonlReaderOptions& options) {
  std::unique_ptr<RecordSource> s(new RecordSource());
  s->kind_ = kind;
  s->name_ = path;
  if (kind == FileKind::Jsonl) {
    s->jsonl_ = JsonlReader::open(path, options);
  } else {
    s->whole_ = file_read_all(path);
    s->split_whole(s->whole_);
  }
  return s;
}

std::unique_ptr<RecordSource> RecordSource::from_memory(std::string_view bytes, std::string name, FileKind kind,
                                                        const JsonlReaderOptions& options) {
  std::unique_ptr<RecordSource> s(new RecordSource());
  s->kind_ = kind;
  s->name_ = name;
  if (kind == FileKind::Jsonl) {
    s->jsonl_ = JsonlReader::from_memory(bytes, std::move(name), options);
  } else {
    s->whole_ = std::string(bytes);
    s->split_whole(s->whole_);
  }
  return s;
}

void RecordSource::split_whole(std::string_view bytes) {
  if (bytes.size() >= 2 && ((uint8_t(bytes[0]) == 0xFF && uint8_t(bytes[1]) == 0xFE) ||
                            (uint8_t(bytes[0]) == 0xFE && uint8_t(bytes[1]) == 0xFF)))
    throw Error(ErrorKind::DataError, name_, "the file is UTF-16 encoded; datasets must be UTF-8",
                "convert it, e.g. iconv -f UTF-16 -t UTF-8 IN > OUT");
  if (kind_ == FileKind::JsonArray) records_ = json_array_records(bytes);
  else records_ = csv_records(bytes, kind_ == FileKind::Tsv ? '\t' : ',');
}

bool RecordSource::next(Record& record) {
  if (jsonl_) {
    if (!jsonl_->next(line_)) return false;
    record.line = line_.number;
    record.text = line_.text;
    record.object = nullptr;
    record.problem = line_.problem;
    record.blank = line_.problem.empty() && line_.text.find_first_not_of(" \t\r\f\v") == std::string_view::npos;
    return true;
  }
  if (next_record_ >= records_.size()) return false;
  record = std::move(records_[next_record_++]);
  return true;
}

size_t RecordSource::bytes_read() const { return jsonl_ ? jsonl_->bytes_read() : whole_.size(); }

}  // namespace loam
