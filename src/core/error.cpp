#include "core/error.h"

#include <cerrno>

namespace loam {
namespace {

std::string format_error(const std::string& where, const std::string& message,
                         const std::string& hint) {
  std::string s = where.empty() ? message : where + ": " + message;
  if (!hint.empty()) s += " (hint: " + hint + ")";
  return s;
}

}  // namespace

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::InvalidArgument: return "INVALID_ARGUMENT";
    case ErrorKind::NotFound: return "NOT_FOUND";
    case ErrorKind::AlreadyExists: return "ALREADY_EXISTS";
    case ErrorKind::FailedPrecondition: return "FAILED_PRECONDITION";
    case ErrorKind::DataError: return "DATA_ERROR";
    case ErrorKind::PermissionDenied: return "PERMISSION_DENIED";
    case ErrorKind::ResourceExhausted: return "RESOURCE_EXHAUSTED";
    case ErrorKind::Cancelled: return "CANCELLED";
    case ErrorKind::Unavailable: return "UNAVAILABLE";
    case ErrorKind::Internal: return "INTERNAL";
  }
  return "UNKNOWN";
}

ErrorKind error_kind_from_errno(int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR: return ErrorKind::NotFound;
    case EACCES:
    case EPERM:
    case EROFS: return ErrorKind::PermissionDenied;
    case EEXIST: return ErrorKind::AlreadyExists;
    case ENOSPC:
    case EDQUOT:
    case ENOMEM: return ErrorKind::ResourceExhausted;
    case EAGAIN:
    case EINTR:
    case EBUSY: return ErrorKind::Unavailable;
    default: return ErrorKind::Internal;
  }
}

Error::Error(std::string where, std::string message, std::string hint)
    : Error(ErrorKind::InvalidArgument, std::move(where), std::move(message), std::move(hint)) {}

Error::Error(ErrorKind kind, std::string where, std::string message, std::string hint)
    : std::runtime_error(format_error(where, message, hint)),
      kind_(kind),
      where_(std::move(where)),
      message_(std::move(message)),
      hint_(std::move(hint)) {}

}  // namespace loam
