// Errors the registry and the layers above throw, each with a kind that the
// HTTP boundary maps to a status (serve/api_error.cpp) and the CLI prints.
// Until core/error.h carries a kind, KindedError adds it here; these
// constructors are the one seam to change when it does.
#pragma once

#include <string>

#include "core/error.h"

namespace loam {

enum class RegistryErrorKind { InvalidArgument, NotFound, AlreadyExists, FailedPrecondition, PermissionDenied, ResourceExhausted };

class KindedError : public Error {
 public:
  KindedError(RegistryErrorKind kind, std::string where, std::string message, std::string hint = "")
      : Error(std::move(where), std::move(message), std::move(hint)), kind_(kind) {}
  RegistryErrorKind kind() const { return kind_; }

 private:
  RegistryErrorKind kind_;
};

inline KindedError error_invalid(std::string where, std::string message) {
  return {RegistryErrorKind::InvalidArgument, std::move(where), std::move(message)};
}
inline KindedError error_not_found(std::string where, std::string message) {
  return {RegistryErrorKind::NotFound, std::move(where), std::move(message)};
}
inline KindedError error_exists(std::string where, std::string message) {
  return {RegistryErrorKind::AlreadyExists, std::move(where), std::move(message)};
}
inline KindedError error_precondition(std::string where, std::string message) {
  return {RegistryErrorKind::FailedPrecondition, std::move(where), std::move(message)};
}
inline KindedError error_denied(std::string where, std::string message) {
  return {RegistryErrorKind::PermissionDenied, std::move(where), std::move(message)};
}
inline KindedError error_too_large(std::string where, std::string message) {
  return {RegistryErrorKind::ResourceExhausted, std::move(where), std::move(message)};
}

}  // namespace loam
