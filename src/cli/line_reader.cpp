#include "cli/line_reader.h"

#include <fstream>

#include "core/error.h"

namespace loam::cli {

void for_each_jsonl(const std::string& path,
                    const std::function<void(const nlohmann::json&, const std::string&)>& fn) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path, "cannot open");
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    n++;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (n == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(n);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      throw Error(where, std::string("invalid JSON: ") + e.what());
    }
    fn(j, where);
  }
}

}  // namespace loam::cli
