// The one place an error becomes an HTTP status and the managed service's
// error body {"error": {"code", "message", "status"}}.
#pragma once

#include <exception>
#include <string>

#include <nlohmann/json.hpp>

namespace loam {

struct ApiError {
  int http_status = 500;
  std::string status;   // "INVALID_ARGUMENT", "NOT_FOUND", ...
  std::string message;
  nlohmann::json body() const;
};

ApiError api_error_of(const std::exception& e);
ApiError api_error(int http_status, const std::string& message);  // status name from the HTTP status

}  // namespace loam
