#include "serve/list_query.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <numeric>

#include "registry/errors.h"

namespace loam {
namespace {

// A conjunction of comparisons: field op value, labels.k:* (presence).
// Replaced by registry/list_filter (the full grammar) once it lands.
struct Term {
  std::string field, op, value;
};

std::vector<Term> parse_filter(const std::string& f) {
  std::vector<Term> out;
  size_t i = 0;
  auto fail = [&](const std::string& what) -> void {
    throw error_invalid("filter", "column " + std::to_string(i + 1) + ": " + what);
  };
  auto skip = [&] { while (i < f.size() && f[i] == ' ') i++; };
  skip();
  while (i < f.size()) {
    size_t s = i;
    while (i < f.size() && (std::isalnum(static_cast<unsigned char>(f[i])) || f[i] == '_' || f[i] == '.')) i++;
    if (i == s) fail("expected a field name");
    Term t{f.substr(s, i - s), "", ""};
    skip();
    for (const char* op : {"!=", "<=", ">=", "=", "<", ">", ":"})
      if (f.compare(i, std::strlen(op), op) == 0) {
        t.op = op;
        i += std::strlen(op);
        break;
      }
    if (t.op.empty()) fail("expected =, !=, <, >, <=, >= or :");
    skip();
    if (i < f.size() && f[i] == '"') {
      size_t e = f.find('"', i + 1);
      if (e == std::string::npos) fail("unterminated string");
      t.value = f.substr(i + 1, e - i - 1);
      i = e + 1;
    } else {
      s = i;
      while (i < f.size() && f[i] != ' ' && f[i] != ')') i++;
      if (i == s) fail("expected a value");
      t.value = f.substr(s, i - s);
    }
    out.push_back(t);
    skip();
    if (i < f.size()) {
      if (f.compare(i, 3, "AND") != 0) fail("expected AND");
      i += 3;
      skip();
      if (i >= f.size()) fail("expected a comparison after AND");
    }
  }
  return out;
}

std::string field_of(const ListItemFields& it, const std::string& name, bool& present) {
  present = true;
  if (name == "display_name" || name == "displayName") return it.display_name;
  if (name == "create_time" || name == "createTime") return it.create_time;
  if (name == "update_time" || name == "updateTime") return it.update_time;
  if (name == "state") return it.state;
  if (name.rfind("labels.", 0) == 0) {
    auto l = it.labels.find(name.substr(7));
    if (l != it.labels.end()) return l->second;
  }
  present = false;
  return "";
}

bool matches(const ListItemFields& it, const std::vector<Term>& terms) {
  for (const auto& t : terms) {
    bool present = false;
    const std::string v = field_of(it, t.field, present);
    bool ok;
    if (t.op == ":") ok = present && (t.value == "*" || v == t.value);
    else if (t.op == "=") ok = present && v == t.value;
    else if (t.op == "!=") ok = !present || v != t.value;
    else if (t.op == "<") ok = present && v < t.value;
    else if (t.op == ">") ok = present && v > t.value;
    else if (t.op == "<=") ok = present && v <= t.value;
    else ok = present && v >= t.value;
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::vector<size_t> list_select(const std::vector<ListItemFields>& items, const ListParams& p,
                                std::string& next_page_token) {
  const std::vector<Term> terms = parse_filter(p.filter);
  for (const auto& t : terms) {
    bool present;
    field_of(ListItemFields{}, t.field, present);
    if (t.field.rfind("labels.", 0) != 0 && t.field != "display_name" && t.field != "displayName" &&
        t.field != "create_time" && t.field != "createTime" && t.field != "update_time" && t.field != "updateTime" &&
        t.field != "state")
      throw error_invalid("filter", "unknown field '" + t.field + "'");
  }
  std::vector<size_t> idx;
  for (size_t i = 0; i < items.size(); i++)
    if (matches(items[i], terms)) idx.push_back(i);
  if (!p.order_by.empty()) {
    std::string key = p.order_by;
    bool desc = false;
    if (size_t sp = key.find(' '); sp != std::string::npos) {
      std::string dir = key.substr(sp + 1);
      key = key.substr(0, sp);
      if (dir == "desc") desc = true;
      else if (dir != "asc") throw error_invalid("orderBy", "expected 'FIELD [asc|desc]', got '" + p.order_by + "'");
    }
    bool present;
    field_of(ListItemFields{}, key, present);
    if (key != "display_name" && key != "displayName" && key != "create_time" && key != "createTime" &&
        key != "update_time" && key != "updateTime")
      throw error_invalid("orderBy", "cannot order by '" + key + "'");
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
      bool pa, pb;
      const std::string va = field_of(items[a], key, pa), vb = field_of(items[b], key, pb);
      return desc ? vb < va : va < vb;
    });
  }
  size_t offset = 0;
  if (!p.page_token.empty()) {
    if (p.page_token[0] != 'o' || p.page_token.size() > 12 ||
        p.page_token.find_first_not_of("0123456789", 1) != std::string::npos || p.page_token.size() < 2)
      throw error_invalid("pageToken", "not a page token this server issued");
    offset = std::stoul(p.page_token.substr(1));
  }
  if (p.page_size < 0) throw error_invalid("pageSize", "must not be negative");
  const size_t size = p.page_size == 0 ? 100 : std::min(p.page_size, 1000);
  std::vector<size_t> page;
  for (size_t i = offset; i < idx.size() && page.size() < size; i++) page.push_back(idx[i]);
  next_page_token = offset + page.size() < idx.size() ? "o" + std::to_string(offset + page.size()) : "";
  return page;
}

}  // namespace loam
