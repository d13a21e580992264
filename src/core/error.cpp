#include "core/error.h"

namespace loam {
namespace {

std::string format_error(const std::string& where, const std::string& message,
                         const std::string& hint) {
  std::string s = where.empty() ? message : where + ": " + message;
  if (!hint.empty()) s += " (hint: " + hint + ")";
  return s;
}

}  // namespace

Error::Error(std::string where, std::string message, std::string hint)
    : std::runtime_error(format_error(where, message, hint)),
      where_(std::move(where)),
      message_(std::move(message)),
      hint_(std::move(hint)) {}

}  // namespace loam
