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
  if (const auto* k = dynamic_cast<const KindedError*>(&e)) {
    switch (k->kind()) {
      case RegistryErrorKind::InvalidArgument: return {400, "INVALID_ARGUMENT", e.what()};
      case RegistryErrorKind::NotFound: return {404, "NOT_FOUND", e.what()};
      case RegistryErrorKind::AlreadyExists: return {409, "ALREADY_EXISTS", e.what()};
      case RegistryErrorKind::FailedPrecondition: return {400, "FAILED_PRECONDITION", e.what()};
      case RegistryErrorKind::PermissionDenied: return {403, "PERMISSION_DENIED", e.what()};
      case RegistryErrorKind::ResourceExhausted: return {413, "RESOURCE_EXHAUSTED", e.what()};
    }
  }
  if (dynamic_cast<const nlohmann::json::exception*>(&e)) return {400, "INVALID_ARGUMENT", e.what()};
  // Other loam::Errors come from parsers and loaders reading what the request named.
  if (dynamic_cast<const Error*>(&e)) return {400, "INVALID_ARGUMENT", e.what()};
  return {500, "INTERNAL", e.what()};
}

}  // namespace loam
