#include "cli/token_list.h"

#include <climits>
#include <stdexcept>

#include "core/error.h"

namespace loam::cli {

std::vector<int32_t> parse_token_list(const std::string& s, const std::string& flag) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    std::string item = s.substr(i, j - i);
    try {
      size_t used = 0;
      long long v = std::stoll(item, &used);
      if (used != item.size() || v < 0 || v > INT32_MAX) throw std::invalid_argument("");
      ids.push_back(static_cast<int32_t>(v));
    } catch (const std::exception&) {
      throw Error(flag, "\"" + item + "\" is not a token id", "expected comma-separated integers like 1,2,3");
    }
    i = j + 1;
  }
  if (ids.empty()) throw Error(flag, "no token ids given");
  return ids;
}

}  // namespace loam::cli
