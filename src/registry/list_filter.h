// The list-filter and ordering grammar of every list in Loam's registry and
// REST API (`loam models list --filter … --order-by …`, `?filter=&orderBy=`),
// as the managed service and Google's AIP-160 (google.aip.dev/160) define it.
//
// Grammar (EBNF; OR binds tighter than the implicit AND of a sequence, which
// binds tighter than AND, as AIP-160 says):
//   filter      = [ expression ]
//   expression  = sequence { "AND" sequence }
//   sequence    = factor { factor }                 (juxtaposition = AND)
//   factor      = term { "OR" term }
//   term        = [ "NOT" | "-" ] simple
//   simple      = "(" expression ")" | restriction
//   restriction = member [ comparator value ]
//   comparator  = "=" | "!=" | "<" | "<=" | ">" | ">=" | ":"
//   member      = name { "." name }                 display_name, labels.family, …
//   value       = quoted string | bare word
// Keywords AND, OR, NOT are upper case. Quoted strings take "…" or '…' with
// backslash escapes (\" \' \\ \n \t). A bare word is a run of characters other
// than white space, parentheses, quotes and comparator characters.
//
// Meaning, evaluated against a FilterRecord:
//   - `field OP value` compares the record's value: timestamps (fields named
//     *_time) as RFC 3339 instants (so "2026-01-01T00:00:00+01:00" <
//     "2026-01-01T00:00:00Z"), two numbers as numbers, anything else as
//     byte strings. In `=` and `!=`, a `*` in the value is a wildcard for any
//     run of characters (`display_name="Gemma*"`).
//   - A field or label the record lacks: `!=` is true, every other comparison
//     false (so `NOT labels.k=v` and `labels.k!=v` agree).
//   - `labels.k:*` is true when the label is present; `labels:k` too (the map
//     has the key); `field:value` is true when the field's value contains
//     value (case-insensitive).
//   - A bare restriction without a comparator (`gemma`) is true when any field
//     or label value contains the word (case-insensitive).
// Fields are checked at parse time: a member must be `labels.<key>` or a name
// in ListFilterFields; a timestamp field's value must be RFC 3339.
//
// Errors: list_filter_parse and order_by_parse throw loam::Error with
// where() = "filter:LINE:COL" / "order_by:LINE:COL" (1-based, bytes) and a
// message saying what was expected, e.g. "filter:1:17: expected a value after
// '='". Nesting deeper than 64 parentheses/NOTs is refused (no stack
// exhaustion on hostile input). Both parsers are pure and thread-safe; a
// parsed ListFilter / OrderBy is immutable and may be shared across threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace loam {

// What a filter is evaluated against: one listed resource.
struct FilterRecord {
  std::map<std::string, std::string> fields;  // "display_name", "create_time" (RFC 3339), "state", …
  std::map<std::string, std::string> labels;  // key → value
};

// Field names a filter or ordering may use (besides labels.<key>).
struct ListFilterFields {
  std::vector<std::string> names = {"display_name", "create_time", "update_time", "name", "description"};
};

enum class FilterOp { Eq, Ne, Lt, Le, Gt, Ge, Has };

struct FilterNode {
  enum class Kind { And, Or, Not, Compare, Global };
  Kind kind = Kind::Compare;
  std::vector<FilterNode> children;  // And, Or: two or more; Not: one
  // Compare: `member op value`; Global: value only.
  std::string member;   // "display_name", "labels.family", or "labels" (for labels:key)
  FilterOp op = FilterOp::Eq;
  std::string value;    // unquoted, escapes resolved
};

struct ListFilter {
  std::string text;                  // as given
  std::unique_ptr<FilterNode> root;  // null for an empty filter (matches everything)
  ListFilter() = default;
  ListFilter(ListFilter&&) = default;
  ListFilter& operator=(ListFilter&&) = default;
};

// Parses once; throws Error pointing at the column on malformed input.
ListFilter list_filter_parse(const std::string& text, const ListFilterFields& fields = {});

// True when the record passes the filter (an empty filter passes all).
bool list_filter_matches(const ListFilter& f, const FilterRecord& r);

// `FilterNode` back to canonical text with explicit parentheses (for logs and
// tests of precedence): "(a = \"1\" AND (b = \"2\" OR c = \"3\"))".
std::string list_filter_format(const ListFilter& f);

// orderBy: "display_name desc, create_time" (fields as in filters, labels.k
// too; asc by default).
struct OrderKey {
  std::string member;
  bool descending = false;
};
using OrderBy = std::vector<OrderKey>;

OrderBy order_by_parse(const std::string& text, const ListFilterFields& fields = {});

// Strict weak ordering by the keys in turn (times as instants, numbers as
// numbers, else bytes; a missing value sorts before any present one in
// ascending order). Records equal on every key compare equal: use
// std::stable_sort, or add a unique key (e.g. "name") last.
bool order_by_less(const OrderBy& order, const FilterRecord& a, const FilterRecord& b);

// RFC 3339 ("2026-12-04T16:51:39Z", "…39.123+01:00", lower-case t/z too) to
// nanoseconds since the Unix epoch; false when `text` is not RFC 3339 or its
// time is outside what int64 nanoseconds hold (1677-09-21..2262-04-11).
bool rfc3339_parse(const std::string& text, int64_t* ns_since_epoch);

}  // namespace loam
