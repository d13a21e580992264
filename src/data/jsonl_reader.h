// Streaming line reader for JSONL files: bounded memory, line numbers, and
// byte-level checks done before any JSON parsing.
//
// Reads the file in 1 MiB chunks; a line is held in memory only while it is
// returned, so a file of any size reads in O(chunk + max_line_bytes) memory.
// Per line it strips the terminator (LF or CR LF) and, on line 1, a UTF-8
// byte-order mark, then rejects (JsonlLine::problem, text empty):
//   - lines longer than max_line_bytes (default 8 MiB; the rest of such a line
//     is skipped, the next line is read normally),
//   - NUL bytes, and invalid UTF-8 (overlong forms, surrogates, > U+10FFFF),
//     each with the 1-based byte column.
// A file that starts with a UTF-16 byte-order mark throws Error (convert it).
// Not thread-safe; one reader per file.
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace loam {

struct JsonlReaderOptions {
  size_t max_line_bytes = size_t(8) << 20;  // longer lines are rejected
  size_t chunk_bytes = size_t(1) << 20;     // read size
};

struct JsonlLine {
  size_t number = 0;      // 1-based line number
  std::string_view text;  // valid until the next call to next()
  std::string problem;    // non-empty when the line was rejected
};

class JsonlReader {
 public:
  // Opens `path`; throws Error naming it when it cannot be opened.
  static std::unique_ptr<JsonlReader> open(const std::string& path, JsonlReaderOptions options = {});
  // Reads from `bytes` (must outlive the reader); `name` is used in errors.
  static std::unique_ptr<JsonlReader> from_memory(std::string_view bytes, std::string name,
                                                  JsonlReaderOptions options = {});
  ~JsonlReader();
  JsonlReader(const JsonlReader&) = delete;
  JsonlReader& operator=(const JsonlReader&) = delete;

  // Returns false at end of input. Empty and whitespace-only lines are returned
  // too (callers decide). Throws Error on read failures.
  bool next(JsonlLine& line);
  size_t bytes_read() const { return bytes_read_; }

 private:
  JsonlReader(std::FILE* file, std::string_view memory, std::string name, JsonlReaderOptions options);
  bool refill();
  void finish_line(JsonlLine& line, std::string_view text, bool too_long);

  std::FILE* file_ = nullptr;  // owned; null when reading memory
  std::string_view memory_;
  std::string name_;
  JsonlReaderOptions options_;
  std::vector<char> buf_;
  size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
  std::string pending_;  // a line spanning chunks
  size_t line_no_ = 0;
  size_t bytes_read_ = 0;
};

// For inputs of one JSON value per line (e.g. `loam tokenize --input`):
// fn(value, "FILE:LINE") for each line that is not blank (spaces and tabs
// only). A rejected line or invalid JSON throws Error (DataError) naming
// FILE:LINE.
void for_each_jsonl(const std::string& path,
                    const std::function<void(const nlohmann::json&, const std::string&)>& fn);

// Byte offset of the first invalid UTF-8 sequence in s, or npos when valid.
size_t utf8_invalid_offset(std::string_view s);
// s with each invalid byte replaced by U+FFFD, cut to at most max_bytes
// without splitting a character ("..." appended when cut). For messages
// that quote user data.
std::string utf8_clean(std::string_view s, size_t max_bytes = std::string::npos);

}  // namespace loam
