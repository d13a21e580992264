// Reading a whole JSON file, with an Error naming the file (and the parser's
// position) when it cannot be read or parsed.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace loam {

nlohmann::json json_read_file(const std::string& path);

}  // namespace loam
