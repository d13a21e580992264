// Token ids given on the command line as "1,2,3" (logits, debug grads).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace loam::cli {

// Throws Error naming `flag` for an empty list or an item that is not a
// non-negative integer.
std::vector<int32_t> parse_token_list(const std::string& s, const std::string& flag);

}  // namespace loam::cli
