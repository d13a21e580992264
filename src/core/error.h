// The one error type of Loam: a message, where it happened, and a hint.
//
// Thrown by parsers, loaders and validators; caught only at the boundaries
// (CLI main, HTTP handler, job runner). Kernels never throw.
// `where` names the place a user can act on: "model.safetensors: tensor
// model.layers.0.mlp.up_proj.weight", "train.jsonl:17:contents[1].role",
// "config.json: field rope_scaling.rope_type".
#pragma once

#include <stdexcept>
#include <string>

namespace loam {

class Error : public std::runtime_error {
 public:
  Error(std::string where, std::string message, std::string hint = "");

  const std::string& where() const { return where_; }
  const std::string& message() const { return message_; }
  const std::string& hint() const { return hint_; }

 private:
  std::string where_;
  std::string message_;
  std::string hint_;
};

}  // namespace loam
