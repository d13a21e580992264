// Shorthands for the errors the registry and the layers above throw, each
// with the kind (core/error.h) that the HTTP boundary maps to a status
// (serve/api_error.cpp) and the CLI prints.
#pragma once

#include <string>

#include "core/error.h"

namespace loam {

inline Error error_invalid(std::string where, std::string message) {
  return {ErrorKind::InvalidArgument, std::move(where), std::move(message)};
}
inline Error error_not_found(std::string where, std::string message) {
  return {ErrorKind::NotFound, std::move(where), std::move(message)};
}
inline Error error_exists(std::string where, std::string message) {
  return {ErrorKind::AlreadyExists, std::move(where), std::move(message)};
}
inline Error error_precondition(std::string where, std::string message) {
  return {ErrorKind::FailedPrecondition, std::move(where), std::move(message)};
}
inline Error error_denied(std::string where, std::string message) {
  return {ErrorKind::PermissionDenied, std::move(where), std::move(message)};
}
inline Error error_too_large(std::string where, std::string message) {
  return {ErrorKind::ResourceExhausted, std::move(where), std::move(message)};
}

}  // namespace loam
