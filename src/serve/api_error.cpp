#include "serve/api_error.h"

#include "registry/errors.h"

namespace loam {
namespace {

const char* status_name(int http) {
  switch (http) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 405: return "METHOD_NOT_ALLOWED";
    case 409: return "ALREADY_EXISTS";
    case 413: return "RESOURCE_EXHAUSTED";
    case 429: return "RESOURCE_EXHAUSTED";
    case 501: return "UNIMPLEMENTED";
    case 503: return "UNAVAILABLE";
    default: return http >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
  }
}

}  // namespace

nlohmann::json ApiError::body() const {
  return {{"error", {{"code", http_status}, {"message", message}, {"status", status}}}};
}

ApiError api_error(int http_status, const std::string& message) {
  return {http_status, status_name(http_status), message};
}

ApiError api_error_of(const std::exception& e) {
  if (const auto* k = dynamic_cast<const Error*>(&e)) {
    switch (k->kind()) {
      case ErrorKind::InvalidArgument: return {400, "INVALID_ARGUMENT", e.what()};
      case ErrorKind::DataError: return {400, "INVALID_ARGUMENT", e.what()};
      case ErrorKind::NotFound: return {404, "NOT_FOUND", e.what()};
      case ErrorKind::AlreadyExists: return {409, "ALREADY_EXISTS", e.what()};
      case ErrorKind::FailedPrecondition: return {400, "FAILED_PRECONDITION", e.what()};
      case ErrorKind::PermissionDenied: return {403, "PERMISSION_DENIED", e.what()};
      case ErrorKind::ResourceExhausted: return {429, "RESOURCE_EXHAUSTED", e.what()};
      case ErrorKind::Cancelled: return {499, "CANCELLED", e.what()};
      case ErrorKind::Unavailable: return {503, "UNAVAILABLE", e.what()};
      case ErrorKind::Internal: return {500, "INTERNAL", e.what()};
    }
  }
  if (dynamic_cast<const nlohmann::json::exception*>(&e)) return {400, "INVALID_ARGUMENT", e.what()};
  return {500, "INTERNAL", e.what()};
}

}  // namespace loam
