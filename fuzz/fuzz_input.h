// Splitting one libFuzzer input into the parts a target needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace loam::fuzz {

// The bytes before the first NUL and those after it (the second part is
// empty when there is no NUL).
inline std::pair<std::string_view, std::string_view> split_at_nul(const uint8_t* data, size_t size) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  const size_t nul = all.find('\0');
  if (nul == std::string_view::npos) return {all, {}};
  return {all.substr(0, nul), all.substr(nul + 1)};
}

}  // namespace loam::fuzz
