// Text operations of the chat-template interpreter: UTF-8 code points, and
// the string semantics of @huggingface/jinja (our reference), which follows
// JavaScript's String methods rather than Python's.
//
// Strings are UTF-8 byte strings. Lengths, indices and slices count Unicode
// code points (the reference counts UTF-16 units; the two agree outside the
// astral planes, and Python counts code points too). Invalid UTF-8 bytes are
// treated as one code point each (U+FFFD on re-encoding is never produced:
// they are passed through unchanged).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace loam::jinja {

// One code point and the byte range it came from.
struct CodePoint {
  char32_t value;
  size_t offset;  // byte offset in the source string
  size_t length;  // bytes
};

std::vector<CodePoint> utf8_code_points(std::string_view s);
void utf8_append(std::string& out, char32_t cp);
size_t utf8_length(std::string_view s);

// JavaScript's WhiteSpace + LineTerminator set (what String.trim removes and
// what /\s/ matches).
bool js_space(char32_t cp);

// JS trim/trimStart/trimEnd.
std::string text_trim(std::string_view s, bool left, bool right);
// Unicode simple case mapping (C.UTF-8 tables).
std::string text_upper(std::string_view s);
std::string text_lower(std::string_view s);
// The reference's title: upper-cases each ASCII word character that follows a
// non-word character (/\b\w/g); the rest is left as is.
std::string text_title(std::string_view s);
// First code point upper-cased, the rest unchanged (reference semantics).
std::string text_capitalize(std::string_view s);
// Python str.split(sep=None, maxsplit=-1). REQUIRES: sep, when given, non-empty.
std::vector<std::string> text_split(std::string_view s, const std::optional<std::string>& sep,
                                    int64_t maxsplit);
// Python str.replace(old, new, count); count < 0 replaces all.
std::string text_replace(std::string_view s, std::string_view from, std::string_view to,
                         int64_t count);
// HTML escape as jinja2's escape filter: & < > " '.
std::string text_escape_html(std::string_view s);

}  // namespace loam::jinja
