// A loaded model: its config, its weights (views into mapped files), and the
// generation defaults from generation_config.json. Read-only after loading;
// any number of threads may run forward passes on one Model at once, each
// with its own KvCache.
#pragma once

#include <string>
#include <vector>

#include "core/file_io.h"
#include "kernels/compute_scope.h"
#include "model/config.h"
#include "model/weights.h"

namespace loam {

struct GenerationDefaults {   // generation_config.json (or GGUF metadata)
  std::vector<int> eos_ids;   // stop at any of these
  float temperature = 1.0f;
  float top_p = 1.0f;
  int top_k = 0;
  bool do_sample = false;
};

struct Model {
  std::string path;            // model directory or .gguf file
  std::string format;          // "safetensors" or "gguf"
  ModelConfig config;
  ModelWeights weights;
  GenerationDefaults generation;
  ComputeSettings compute;     // precision and threads of every call on this model
};

// `path` is a Hugging Face model directory (config.json + safetensors) or a
// .gguf file. Throws Error naming the file and field/tensor on any problem.
Model model_load(const std::string& path);

// The files loading `path` reads (for a directory: the directory itself and
// its .json, .safetensors, .jinja and .model files; else the file), for
// check_outputs_distinct: a command must not write over its own model.
std::vector<NamedPath> model_input_files(const std::string& path);

// Re-stores every F32/F16 matrix of m as BF16 in memory (norms, biases and
// LoRA stay fp32), for BF16 matrix products on checkpoints stored in fp32.
// The originals stay mapped but are no longer read.
void model_matrices_to_bf16(Model& m);

// Parameters in the checkpoint (embedding counted once when tied).
int64_t model_param_count(const Model& m);
// Bytes the weights take as stored (what decode streams per token).
int64_t model_weight_bytes(const Model& m);

// The same two figures from a config alone, before any checkpoint is on disk
// (the model-garden catalog, a job's memory check): every matrix stored as
// `dtype`, the LM head counted once when c.tie_embeddings. They equal the
// loaded model's figures for a checkpoint of that config and dtype.
int64_t model_param_count(const ModelConfig& c);
int64_t model_weight_bytes(const ModelConfig& c, DType dtype);

}  // namespace loam
