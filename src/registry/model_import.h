// Registering a model checkpoint: a Hugging Face directory (config.json,
// safetensors, tokenizer files) or a GGUF file. The files are hashed, the
// architecture and chat template read, and the files linked (or copied)
// into <data dir>/models/<id>/ before the row is written. Importing the
// same files again returns the model already registered (same content
// digest), not a copy.
#pragma once

#include <string>

#include "registry/records.h"
#include "registry/store.h"

namespace loam {

struct ModelImportRequest {
  std::string path;          // a local directory or .gguf file (already resolved and confined)
  std::string source_uri;    // what the user named (recorded); defaults to path
  std::string display_name;  // default: the directory or file name
  std::string description;
  Labels labels;
};

struct ModelImportResult {
  ModelRecord model;
  bool created = false;      // false: the same files were registered before
};

ModelImportResult model_import(Store& store, const ModelImportRequest& req);

// "k=v,k2=v2" -> labels; throws naming `field` on a malformed pair.
Labels labels_parse(const std::string& text, const std::string& field);

}  // namespace loam
