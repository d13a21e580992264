// Loading and validating the model-garden catalog; its memory formula.
#include "registry/catalog.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>

#include "core/error.h"
#include "core/json_file.h"
#include "model/arch.h"
#include "model/model.h"
#include "train/sft_config.h"
#include "train/sft_trainer.h"

namespace loam {

extern const char* const kCatalogBuiltinJson;  // generated from catalog/models.json (see sources.cmake)

namespace {

using json = nlohmann::json;

constexpr int64_t kServeContextCap = 8192;
constexpr int64_t kOverheadBytes = 200LL << 20;

// Reads one entry's fields, naming "<origin>: models[i] (id): field f" in errors.
class EntryReader {
 public:
  EntryReader(const json& j, std::string where) : j_(j), where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& msg) const {
    throw Error(where_ + ": field " + field, msg);
  }

  const json& get(const std::string& f) const {
    if (!j_.contains(f)) fail(f, "missing (required)");
    return j_.at(f);
  }

  std::string str(const std::string& f, bool required = true) const {
    if (!required && !j_.contains(f)) return "";
    const json& v = get(f);
    if (!v.is_string() || v.get<std::string>().empty()) fail(f, "expected a non-empty string");
    return v.get<std::string>();
  }

  int64_t positive(const std::string& f) const {
    const json& v = get(f);
    if (!v.is_number_integer() || v.get<int64_t>() <= 0) fail(f, "expected a positive integer, got " + v.dump());
    return v.get<int64_t>();
  }

  int positive_int(const std::string& f) const {
    const int64_t v = positive(f);
    if (v > (1 << 30)) fail(f, "too large: " + std::to_string(v));
    return static_cast<int>(v);
  }

  bool boolean(const std::string& f) const {
    const json& v = get(f);
    if (!v.is_boolean()) fail(f, "expected true or false, got " + v.dump());
    return v.get<bool>();
  }

  const json& object(const std::string& f) const {
    const json& v = get(f);
    if (!v.is_object()) fail(f, "expected an object");
    return v;
  }

  const std::string& where() const { return where_; }

 private:
  const json& j_;
  std::string where_;
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool arch_known(const std::string& hf_arch) {
  for (const Arch* a : arch_registry())
    if (std::find(a->hf_architectures.begin(), a->hf_architectures.end(), hf_arch) != a->hf_architectures.end())
      return true;
  return false;
}

DType dtype_of(const std::string& name) {
  if (name == "bfloat16") return DType::BF16;
  if (name == "float16") return DType::F16;
  return DType::F32;
}

CatalogEntry entry_parse(const json& j, const std::string& where_prefix) {
  std::string id = j.is_object() && j.contains("id") && j["id"].is_string() ? j["id"].get<std::string>() : "";
  const EntryReader r(j, where_prefix + (id.empty() ? "" : " (" + id + ")"));
  if (!j.is_object()) throw Error(where_prefix, "expected an object");
  CatalogEntry e;
  e.id = r.str("id");
  if (std::count(e.id.begin(), e.id.end(), '/') != 1 || e.id.front() == '/' || e.id.back() == '/')
    r.fail("id", "expected a Hugging Face id \"owner/name\", got \"" + e.id + "\"");
  e.display_name = r.str("display_name");
  e.family = r.str("family");
  e.architecture = r.str("architecture");
  if (!arch_known(e.architecture))
    r.fail("architecture", "\"" + e.architecture + "\" is not an architecture Loam runs (supported: " +
                               arch_supported_list() + ")");
  e.license = r.str("license");
  e.dtype = r.str("dtype");
  if (e.dtype != "bfloat16" && e.dtype != "float16" && e.dtype != "float32")
    r.fail("dtype", "expected bfloat16, float16 or float32, got \"" + e.dtype + "\"");
  e.model_card = r.str("model_card");
  e.notes = r.str("notes", false);
  e.parameters = r.positive("parameters");
  e.context_length = r.positive("context_length");
  e.gated = r.boolean("gated");
  e.tunable = r.boolean("tunable");
  e.n_layers = r.positive_int("n_layers");
  e.hidden_size = r.positive_int("hidden_size");
  e.intermediate_size = r.positive_int("intermediate_size");
  e.n_heads = r.positive_int("n_heads");
  e.n_kv_heads = r.positive_int("n_kv_heads");
  e.head_dim = r.positive_int("head_dim");
  e.vocab_size = r.positive_int("vocab_size");
  e.tie_embeddings = r.boolean("tie_embeddings");
  if (e.n_heads % e.n_kv_heads != 0)
    r.fail("n_kv_heads", std::to_string(e.n_kv_heads) + " does not divide n_heads " + std::to_string(e.n_heads));

  const EntryReader lora(r.object("lora"), r.where() + ": lora");
  e.lora.rank = lora.positive_int("rank");
  const json& alpha = lora.get("alpha");
  if (!alpha.is_number() || alpha.get<double>() <= 0) lora.fail("alpha", "expected a positive number");
  e.lora.alpha = alpha.get<float>();
  const json& lr = lora.get("learning_rate");
  if (!lr.is_number() || lr.get<double>() <= 0 || lr.get<double>() > 1e-2)
    lora.fail("learning_rate", "expected a number in (0, 0.01], got " + lr.dump());
  e.lora.learning_rate = lr.get<double>();

  const EntryReader mem(r.object("memory"), r.where() + ": memory");
  e.memory.weight_bytes = mem.positive("weight_bytes");
  e.memory.tune_rank8_bytes = mem.positive("tune_rank8_bytes");
  e.memory.serve_bytes = mem.positive("serve_bytes");

  for (const auto& [k, v] : r.object("labels").items()) {
    if (!v.is_string()) r.fail("labels." + k, "expected a string value");
    e.labels[k] = v.get<std::string>();
  }
  auto label = [&](const std::string& k) { return e.labels.count(k) ? e.labels.at(k) : std::string(); };
  if (label("model_garden") != "true") r.fail("labels.model_garden", "must be \"true\" in the model garden");
  if (label("family") != e.family) r.fail("labels.family", "must equal the family field \"" + e.family + "\"");
  if (label("size").empty()) r.fail("labels.size", "missing (required), e.g. \"7b\"");
  return e;
}

}  // namespace

Catalog catalog_parse(const json& doc, const std::string& origin) {
  if (!doc.is_object() || !doc.contains("models") || !doc["models"].is_array())
    throw Error(origin, "expected an object with a \"models\" array");
  Catalog c;
  c.origin = origin;
  std::set<std::string> seen;
  const json& models = doc["models"];
  for (size_t i = 0; i < models.size(); i++) {
    CatalogEntry e = entry_parse(models[i], origin + ": models[" + std::to_string(i) + "]");
    if (!seen.insert(lower(e.id)).second)
      throw Error(origin + ": models[" + std::to_string(i) + "] (" + e.id + "): field id", "duplicate id");
    c.entries.push_back(std::move(e));
  }
  return c;
}

Catalog catalog_load(const std::string& path) { return catalog_parse(json_read_file(path), path); }

const Catalog& catalog_builtin() {
  static const Catalog c = [] {
    if (const char* path = std::getenv("LOAM_CATALOG"); path && *path) return catalog_load(path);
    json doc;
    try {
      doc = json::parse(kCatalogBuiltinJson);
    } catch (const json::exception& e) {
      throw Error("builtin catalog/models.json", std::string("not valid JSON: ") + e.what());
    }
    return catalog_parse(doc, "builtin catalog/models.json");
  }();
  return c;
}

const CatalogEntry* catalog_find(const Catalog& c, const std::string& hf_id) {
  const std::string want = lower(hf_id);
  for (const CatalogEntry& e : c.entries)
    if (lower(e.id) == want) return &e;
  return nullptr;
}

ModelConfig catalog_model_config(const CatalogEntry& e) {
  ModelConfig c;
  for (const Arch* a : arch_registry())
    if (std::find(a->hf_architectures.begin(), a->hf_architectures.end(), e.architecture) != a->hf_architectures.end())
      c.arch = a->name;
  c.hf_architecture = e.architecture;
  c.n_layers = e.n_layers;
  c.hidden = e.hidden_size;
  c.intermediate = e.intermediate_size;
  c.n_heads = e.n_heads;
  c.n_kv_heads = e.n_kv_heads;
  c.head_dim = e.head_dim;
  c.vocab = e.vocab_size;
  c.max_position = static_cast<int>(std::min<int64_t>(e.context_length, 1 << 30));
  c.tie_embeddings = e.tie_embeddings;
  return c;
}

int64_t serve_memory_bytes(const ModelConfig& c, int64_t weight_bytes, int64_t context_tokens) {
  const int64_t kv = 2 * static_cast<int64_t>(c.n_layers) * c.kv_dim() * 4 * context_tokens;
  const int64_t logits = 4 * static_cast<int64_t>(c.vocab);
  return weight_bytes + kv + logits + kOverheadBytes;
}

CatalogMemory memory_estimate(const ModelConfig& c, int64_t weight_bytes, int64_t context_length) {
  CatalogMemory m;
  m.weight_bytes = weight_bytes;
  SftConfig cfg;  // `loam tune sft` defaults
  cfg.lora.rank = 8;
  m.tune_rank8_bytes = sft_peak_memory_bytes(
      c, m.weight_bytes, static_cast<int64_t>(cfg.hyperparameters.batch_size) * cfg.hyperparameters.max_seq_length, cfg);
  m.serve_bytes = serve_memory_bytes(c, m.weight_bytes, std::min(context_length, kServeContextCap));
  return m;
}

CatalogMemory catalog_memory_estimate(const CatalogEntry& e) {
  const ModelConfig c = catalog_model_config(e);
  return memory_estimate(c, model_weight_bytes(c, dtype_of(e.dtype)), e.context_length);
}

FilterRecord catalog_filter_record(const CatalogEntry& e) {
  FilterRecord r;
  r.fields["display_name"] = e.display_name;
  r.fields["name"] = e.id;
  r.fields["description"] = e.notes;
  r.fields["license"] = e.license;
  r.fields["architecture"] = e.architecture;
  r.labels = e.labels;
  return r;
}

}  // namespace loam
