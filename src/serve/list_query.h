// What every list in the API takes: filter (the managed service's list
// filter grammar, registry/list_filter.h), orderBy, pageSize and pageToken; applied to the fields a
// list item exposes. Page tokens are opaque to clients ("o<offset>").
#pragma once

#include <string>
#include <vector>

#include "registry/records.h"

namespace loam {

struct ListParams {
  std::string filter, order_by, page_token;
  int page_size = 0;  // 0 = the default (100); at most 1000
};

struct ListItemFields {
  std::string display_name, create_time, update_time, state;
  Labels labels;
};

// The positions (into items) of one page, filtered and ordered; sets
// next_page_token ("" on the last page). Throws InvalidArgument naming the
// parameter (and the filter's column) on a malformed filter, orderBy or token.
std::vector<size_t> list_select(const std::vector<ListItemFields>& items, const ListParams& p,
                                std::string& next_page_token);

}  // namespace loam
