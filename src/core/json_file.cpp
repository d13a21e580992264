#include "core/json_file.h"

#include "core/error.h"
#include "core/file_io.h"

namespace loam {

nlohmann::json json_read_file(const std::string& path) {
  const std::string text = file_read_all(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(ErrorKind::DataError, path, std::string("invalid JSON: ") + e.what());
  }
}

}  // namespace loam
