// The one error type of Loam: a kind, a message, where it happened, and a hint.
//
// Thrown by parsers, loaders and validators; caught only at the boundaries
// (CLI main, HTTP handler, job runner). Kernels never throw.
// `where` names the place a user can act on: "model.safetensors: tensor
// model.layers.0.mlp.up_proj.weight", "train.jsonl:17:contents[1].role",
// "config.json: field rope_scaling.rope_type".
//
// `kind` says what sort of failure it is, so a boundary can map it (an HTTP
// status, a job state) without parsing the message. The kind-less
// constructor means InvalidArgument: most throws in Loam reject a value the
// user gave (a flag, a config field, a file's contents). Pass a kind for the
// rest (a missing file is NotFound, a bad dataset line DataError, ...).
#pragma once

#include <stdexcept>
#include <string>

namespace loam {

enum class ErrorKind {
  InvalidArgument,     // a flag, config field or request value is wrong
  NotFound,            // a file, model, adapter or record does not exist
  AlreadyExists,       // the thing to create is already there
  FailedPrecondition,  // the state does not allow it (e.g. resume from a different run)
  DataError,           // an input file's contents are malformed (a dataset line, a tensor)
  PermissionDenied,    // the OS or a policy refuses access
  ResourceExhausted,   // memory, disk or a configured limit would be exceeded
  Cancelled,           // the caller or the user stopped it
  Unavailable,         // a transient I/O or service failure; retrying may help
  Internal,            // a bug or an I/O failure Loam cannot explain
};

// The kind an OS error number means: ENOENT/ENOTDIR -> NotFound,
// EACCES/EPERM/EROFS -> PermissionDenied, EEXIST -> AlreadyExists,
// ENOSPC/EDQUOT/ENOMEM -> ResourceExhausted, EAGAIN/EINTR/EBUSY -> Unavailable,
// anything else -> Internal.
ErrorKind error_kind_from_errno(int err);

// "INVALID_ARGUMENT", "NOT_FOUND", ... (upper snake case, gRPC-style).
const char* error_kind_name(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  // kind = ErrorKind::InvalidArgument.
  Error(std::string where, std::string message, std::string hint = "");
  Error(ErrorKind kind, std::string where, std::string message, std::string hint = "");

  ErrorKind kind() const { return kind_; }
  const std::string& where() const { return where_; }
  const std::string& message() const { return message_; }
  const std::string& hint() const { return hint_; }

 private:
  ErrorKind kind_;
  std::string where_;
  std::string message_;
  std::string hint_;
};

}  // namespace loam
