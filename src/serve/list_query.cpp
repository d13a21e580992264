#include "serve/list_query.h"

#include <algorithm>

#include "registry/errors.h"
#include "registry/list_filter.h"

namespace loam {
namespace {

// Every list item exposes the same members, by their snake_case and the
// REST API's camelCase names.
const ListFilterFields& list_fields() {
  static const ListFilterFields f{{"display_name", "displayName", "create_time", "createTime", "update_time",
                                   "updateTime", "state", "name", "description"}};
  return f;
}

FilterRecord record_of(const ListItemFields& it) {
  FilterRecord r;
  r.fields = {{"display_name", it.display_name}, {"displayName", it.display_name},
              {"create_time", it.create_time},   {"createTime", it.create_time},
              {"update_time", it.update_time},   {"updateTime", it.update_time},
              {"state", it.state}};
  for (const auto& [k, v] : it.labels) r.labels[k] = v;
  return r;
}

}  // namespace

std::vector<size_t> list_select(const std::vector<ListItemFields>& items, const ListParams& p,
                                std::string& next_page_token) {
  // The managed service's grammar (registry/list_filter.h); its errors name
  // the parameter and point at the column ("filter:1:17: ...").
  const ListFilter filter = list_filter_parse(p.filter, list_fields());
  const OrderBy order = order_by_parse(p.order_by, list_fields());
  std::vector<FilterRecord> records;
  records.reserve(items.size());
  for (const auto& it : items) records.push_back(record_of(it));
  std::vector<size_t> idx;
  for (size_t i = 0; i < items.size(); i++)
    if (list_filter_matches(filter, records[i])) idx.push_back(i);
  if (!order.empty())
    std::stable_sort(idx.begin(), idx.end(),
                     [&](size_t a, size_t b) { return order_by_less(order, records[a], records[b]); });
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
