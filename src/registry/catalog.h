// The model garden: the catalog of open models Loam runs (catalog/models.json
// in the repository, compiled into the binary), loaded and validated here.
//
// This is the data and its checks, not the registry: the store registers
// catalog entries as models (labels included) and lists them with the
// list-filter grammar (registry/list_filter.h). File format: catalog/README.md.
//
// Memory estimates (bytes), computed by catalog_memory_estimate from the
// entry's shapes with Loam's own estimators:
//   weight_bytes     = model_weight_bytes(config, dtype)      (model/model.h)
//   tune_rank8_bytes = sft_peak_memory_bytes(config, weight_bytes,
//                        batch_size * max_seq_length, cfg)    (train/sft_trainer.h)
//                      with cfg = `loam tune sft` defaults and adapter size 8
//                      (batch 4 × 1024 tokens, no gradient checkpointing)
//   serve_bytes      = serve_memory_bytes(config, weight_bytes, min(context_length, 8192))
// The file stores the numbers (so a reader sees them without running Loam);
// tests/registry/catalog_test.cpp checks them against this formula.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/config.h"
#include "registry/list_filter.h"

namespace loam {

struct CatalogLora {          // Loam's recommended LoRA settings
  int rank = 8;
  float alpha = 16.0f;
  double learning_rate = 2e-4;
};

struct CatalogMemory {
  int64_t weight_bytes = 0;      // weights as stored
  int64_t tune_rank8_bytes = 0;  // peak of a rank-8 `loam tune sft` run with default batch and length
  int64_t serve_bytes = 0;       // weights + KV cache of one sequence + overhead
};

struct CatalogEntry {
  std::string id;              // Hugging Face repository id: "google/gemma-2-2b-it"
  std::string display_name;    // "Gemma 2 2B Instruct"
  std::string family;          // "llama", "mistral", "gemma", "qwen", "smollm"
  std::string architecture;    // HF architectures[0], one Loam's arch table knows
  std::string license;         // SPDX-like id as the card gives it: "apache-2.0", "gemma", "llama3.1"
  std::string dtype = "bfloat16";  // stored weight type: bfloat16, float16, float32
  std::string model_card;      // URL
  std::string notes;           // optional caveats (context with YaRN, multimodal, ...)
  int64_t parameters = 0;      // as the model card states it
  int64_t context_length = 0;  // tokens, natively (without rope-scaling extensions Loam lacks)
  bool gated = false;          // the hub asks users to accept terms first (needs HF_TOKEN)
  bool tunable = true;         // Loam can LoRA-tune it
  int n_layers = 0, hidden_size = 0, intermediate_size = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0;
  int vocab_size = 0;
  bool tie_embeddings = false;
  CatalogLora lora;
  CatalogMemory memory;        // as stored in the file
  std::map<std::string, std::string> labels;  // model_garden=true, family=…, size=…
};

struct Catalog {
  std::string origin;          // file path, or "builtin catalog/models.json"
  std::vector<CatalogEntry> entries;
};

// Parses and validates a catalog document. Throws Error whose where() names
// the origin, the entry and the field: "catalog/models.json: models[3]
// (google/gemma-2-2b-it): field n_heads" with what was wrong. Checks: required
// fields and types, positive sizes, heads divisible by kv heads, an
// architecture Loam knows (model/arch.h), unique ids, and labels
// model_garden="true" and family equal to the family field.
Catalog catalog_parse(const nlohmann::json& doc, const std::string& origin);

// Reads and validates a catalog file (catalog_parse on its contents).
Catalog catalog_load(const std::string& path);

// The catalog compiled into the binary from catalog/models.json at build
// time; parsed once, on first use (thread-safe). The env LOAM_CATALOG, when
// set, names a file to load instead.
const Catalog& catalog_builtin();

// Lookup by Hugging Face id (case-insensitive, as the hub treats ids);
// nullptr when absent.
const CatalogEntry* catalog_find(const Catalog& c, const std::string& hf_id);

// The ModelConfig fields an estimate needs (arch, shapes, vocab, context,
// tie), from an entry.
ModelConfig catalog_model_config(const CatalogEntry& e);

// The memory formula above, from the entry's shapes (ignores e.memory).
CatalogMemory catalog_memory_estimate(const CatalogEntry& e);

// The same formula for any config whose weights take `weight_bytes` as
// stored (a registered model's checkpoint): serving is costed at
// min(context_length, 8192) tokens.
CatalogMemory memory_estimate(const ModelConfig& c, int64_t weight_bytes, int64_t context_length);

// Memory to serve one sequence of `context_tokens`: the weights, an fp32 KV
// cache (2 × layers × kv_dim × 4 bytes per token, as model/kv_cache.h holds
// it), logits and a fixed 200 MiB.
int64_t serve_memory_bytes(const ModelConfig& c, int64_t weight_bytes, int64_t context_tokens);

// What the list filter sees of an entry: fields display_name, name (the HF
// id), description, license, architecture; labels as in the file.
FilterRecord catalog_filter_record(const CatalogEntry& e);

}  // namespace loam
