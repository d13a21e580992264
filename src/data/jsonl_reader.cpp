#include "data/jsonl_reader.h"

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace loam {

size_t utf8_invalid_offset(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    // ASCII fast path, 8 bytes at a time.
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4, cp = c & 0x07;
    } else {
      return i;  // continuation byte, overlong lead (C0/C1) or F5..FF
    }
    if (i + len > n) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
      return i;
    i += len;
  }
  return std::string_view::npos;
}

std::string utf8_clean(std::string_view s, size_t max_bytes) {
  std::string out;
  while (!s.empty()) {
    size_t bad = utf8_invalid_offset(s);
    std::string_view good = s.substr(0, bad);
    out.append(good);
    if (bad == std::string_view::npos) break;
    out += "\xEF\xBF\xBD";
    s.remove_prefix(bad + 1);
  }
  if (out.size() > max_bytes) {
    size_t cut = max_bytes >= 3 ? max_bytes - 3 : 0;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
    out.resize(cut);
    out += "...";
  }
  return out;
}

std::unique_ptr<JsonlReader> JsonlReader::open(const std::string& path, JsonlReaderOptions options) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    const int e = errno;
    throw Error(error_kind_from_errno(e), path, std::string("cannot open: ") + std::strerror(e));
  }
  return std::unique_ptr<JsonlReader>(new JsonlReader(f, {}, path, options));
}

std::unique_ptr<JsonlReader> JsonlReader::from_memory(std::string_view bytes, std::string name,
                                                      JsonlReaderOptions options) {
  return std::unique_ptr<JsonlReader>(new JsonlReader(nullptr, bytes, std::move(name), options));
}

JsonlReader::JsonlReader(std::FILE* file, std::string_view memory, std::string name, JsonlReaderOptions options)
    : file_(file), memory_(memory), name_(std::move(name)), options_(options) {
  if (options_.chunk_bytes == 0) options_.chunk_bytes = 1 << 20;
}

JsonlReader::~JsonlReader() {
  if (file_) std::fclose(file_);
}

// After refill(), [pos_, end_) of chunk() holds unread bytes; false at EOF.
bool JsonlReader::refill() {
  if (eof_) return false;
  if (!file_) {
    eof_ = true;
    pos_ = 0;
    end_ = memory_.size();
    bytes_read_ = end_;
  } else {
    buf_.resize(options_.chunk_bytes);
    size_t got = std::fread(buf_.data(), 1, buf_.size(), file_);
    if (got < buf_.size()) {
      if (std::ferror(file_)) throw Error(ErrorKind::Internal, name_, std::string("read failed: ") + std::strerror(errno));
      eof_ = true;
    }
    pos_ = 0;
    end_ = got;
    bytes_read_ += got;
  }
  if (bytes_read_ == end_ && end_ >= 2) {  // first chunk
    const auto* b = reinterpret_cast<const unsigned char*>(file_ ? buf_.data() : memory_.data());
    if ((b[0] == 0xFF && b[1] == 0xFE) || (b[0] == 0xFE && b[1] == 0xFF))
      throw Error(ErrorKind::DataError, name_, "the file is UTF-16 encoded; datasets must be UTF-8",
                  "convert it, e.g. iconv -f UTF-16 -t UTF-8 IN > OUT");
  }
  return end_ > 0;
}

bool JsonlReader::next(JsonlLine& line) {
  bool too_long = false;
  pending_.clear();
  for (;;) {
    if (pos_ >= end_ && !refill()) {
      if (pending_.empty() && !too_long) return false;  // no unterminated last line
      finish_line(line, pending_, too_long);
      return true;
    }
    const char* chunk = file_ ? buf_.data() : memory_.data();
    const char* start = chunk + pos_;
    const char* nl = static_cast<const char*>(std::memchr(start, '\n', end_ - pos_));
    size_t take = nl ? size_t(nl - start) : end_ - pos_;
    pos_ += take + (nl ? 1 : 0);
    if (!too_long && pending_.size() + take > options_.max_line_bytes) {
      too_long = true;
      pending_.clear();
      pending_.shrink_to_fit();
    }
    if (nl && pending_.empty() && !too_long) {  // whole line inside the chunk: no copy
      finish_line(line, std::string_view(start, take), false);
      return true;
    }
    if (!too_long) pending_.append(start, take);
    if (nl) {
      finish_line(line, pending_, too_long);
      return true;
    }
  }
}

void JsonlReader::finish_line(JsonlLine& line, std::string_view text, bool too_long) {
  line.number = ++line_no_;
  line.problem.clear();
  line.text = {};
  if (too_long) {
    line.problem = "line is longer than " + std::to_string(options_.max_line_bytes) +
                   " bytes (the limit for one example)";
    return;
  }
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  if (line.number == 1 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  if (const void* nul = std::memchr(text.data(), '\0', text.size())) {
    line.problem = "NUL byte at column " +
                   std::to_string(static_cast<const char*>(nul) - text.data() + 1) +
                   " (binary data or a UTF-16 file?)";
    return;
  }
  size_t bad = utf8_invalid_offset(text);
  if (bad != std::string_view::npos) {
    line.problem = "invalid UTF-8 at column " + std::to_string(bad + 1);
    return;
  }
  line.text = text;
}

void for_each_jsonl(const std::string& path,
                    const std::function<void(const nlohmann::json&, const std::string&)>& fn) {
  auto reader = JsonlReader::open(path);
  JsonlLine line;
  while (reader->next(line)) {
    const std::string where = path + ":" + std::to_string(line.number);
    if (!line.problem.empty()) throw Error(ErrorKind::DataError, where, line.problem);
    if (line.text.find_first_not_of(" \t") == std::string_view::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line.text);
    } catch (const nlohmann::json::parse_error& e) {
      throw Error(ErrorKind::DataError, where, std::string("invalid JSON: ") + e.what());
    }
    fn(j, where);
  }
}

}  // namespace loam
