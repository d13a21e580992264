// The model-garden catalog: the file loads and is complete, its numbers
// follow the documented formula, shapes agree with the card's parameter
// counts, and a broken file is refused naming the entry and the field.
#include "registry/catalog.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/error.h"
#include "core/json_file.h"
#include "model/arch.h"
#include "model/model.h"
#include "registry/list_filter.h"

namespace loam {
namespace {

const std::string kCatalogPath = std::string(LOAM_SOURCE_DIR) + "/catalog/models.json";

std::string error_of(const nlohmann::json& doc) {
  try {
    catalog_parse(doc, "models.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Catalog, FileLoadsWithAtLeast25Models) {
  const Catalog c = catalog_load(kCatalogPath);
  EXPECT_GE(c.entries.size(), 25u);
  // The copy compiled into the binary is the same file.
  EXPECT_EQ(catalog_builtin().entries.size(), c.entries.size());
  for (size_t i = 0; i < c.entries.size(); i++) EXPECT_EQ(catalog_builtin().entries[i].id, c.entries[i].id);
}

TEST(Catalog, HoldsTheModelsTheIssueNames) {
  const Catalog& c = catalog_builtin();
  for (const char* id :
       {"meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.2-1B-Instruct", "meta-llama/Llama-3.2-3B-Instruct",
        "mistralai/Mistral-7B-Instruct-v0.3", "google/gemma-2-2b-it", "google/gemma-2-9b-it", "google/gemma-2-27b-it",
        "google/gemma-3-1b-it", "google/gemma-3-4b-it", "google/gemma-3-12b-it", "google/gemma-3-27b-it",
        "Qwen/Qwen2.5-0.5B-Instruct", "Qwen/Qwen2.5-1.5B-Instruct", "Qwen/Qwen2.5-3B-Instruct",
        "Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-14B-Instruct", "Qwen/Qwen3-0.6B", "Qwen/Qwen3-1.7B",
        "Qwen/Qwen3-4B", "Qwen/Qwen3-8B", "HuggingFaceTB/SmolLM2-135M-Instruct",
        "HuggingFaceTB/SmolLM2-360M-Instruct", "HuggingFaceTB/SmolLM2-1.7B-Instruct"})
    EXPECT_NE(catalog_find(c, id), nullptr) << id;
  // Hub ids are case-insensitive.
  ASSERT_NE(catalog_find(c, "QWEN/qwen3-8b"), nullptr);
  EXPECT_EQ(catalog_find(c, "QWEN/qwen3-8b")->id, "Qwen/Qwen3-8B");
  EXPECT_EQ(catalog_find(c, "nobody/nothing"), nullptr);
}

TEST(Catalog, EveryArchitectureIsOneLoamRuns) {
  for (const CatalogEntry& e : catalog_builtin().entries) {
    const Arch& a = arch_find_hf(nlohmann::json{{"architectures", {e.architecture}}}, e.id);
    EXPECT_EQ(catalog_model_config(e).arch, a.name) << e.id;
  }
}

TEST(Catalog, RequiredFieldsAndLabels) {
  std::set<std::string> families;
  for (const CatalogEntry& e : catalog_builtin().entries) {
    EXPECT_FALSE(e.display_name.empty()) << e.id;
    EXPECT_FALSE(e.license.empty()) << e.id;
    EXPECT_GT(e.context_length, 0) << e.id;
    EXPECT_EQ(e.model_card, "https://huggingface.co/" + e.id);
    EXPECT_EQ(e.labels.at("model_garden"), "true") << e.id;
    EXPECT_EQ(e.labels.at("family"), e.family) << e.id;
    EXPECT_FALSE(e.labels.at("size").empty()) << e.id;
    EXPECT_GE(e.lora.rank, 1) << e.id;
    EXPECT_GT(e.lora.alpha, 0) << e.id;
    families.insert(e.family);
  }
  EXPECT_EQ(families, (std::set<std::string>{"gemma", "llama", "mistral", "qwen", "smollm"}));
}

// The shapes (from each config.json) must add up to the card's parameter
// count: a wrong layer count or width shows here. Gemma 3 4B/12B/27B cards
// count a ~0.4B vision encoder that the text decoder does not have.
TEST(Catalog, ShapesAgreeWithTheCardsParameterCounts) {
  for (const CatalogEntry& e : catalog_builtin().entries) {
    const double shapes = static_cast<double>(model_param_count(catalog_model_config(e)));
    double card = static_cast<double>(e.parameters);
    if (e.architecture == "Gemma3ForConditionalGeneration") card -= 0.42e9;
    EXPECT_NEAR(shapes / card, 1.0, 0.03) << e.id << ": shapes give " << shapes << " parameters, the card "
                                          << e.parameters;
  }
}

TEST(Catalog, MemoryNumbersFollowTheFormula) {
  for (const CatalogEntry& e : catalog_load(kCatalogPath).entries) {
    const CatalogMemory m = catalog_memory_estimate(e);
    EXPECT_EQ(e.memory.weight_bytes, m.weight_bytes) << e.id;
    EXPECT_EQ(e.memory.tune_rank8_bytes, m.tune_rank8_bytes) << e.id;
    EXPECT_EQ(e.memory.serve_bytes, m.serve_bytes) << e.id;
    // Sanity independent of the formula: bf16 weights are 2 bytes a parameter
    // (embeddings and norms aside), and tuning needs more than serving.
    EXPECT_NEAR(static_cast<double>(m.weight_bytes) / (2.0 * model_param_count(catalog_model_config(e))), 1.0, 0.01)
        << e.id;
    EXPECT_GT(m.tune_rank8_bytes, m.weight_bytes) << e.id;
    EXPECT_GT(m.serve_bytes, m.weight_bytes) << e.id;
  }
}

// Hand-computed for SmolLM2-135M (30 layers, hidden 576, 9/3 heads of 64,
// intermediate 1536, vocab 49152, tied): per layer 2·576·576 + 2·576·192 +
// 3·576·1536 = 3,538,944 weights; ×30 + 49152·576 = 134,479,872 in bf16.
TEST(Catalog, WeightBytesByHandForSmolLM2) {
  const CatalogEntry* e = catalog_find(catalog_builtin(), "HuggingFaceTB/SmolLM2-135M-Instruct");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(catalog_memory_estimate(*e).weight_bytes, 2LL * 134479872);
  // Serving 8192 tokens: KV = 2·30·192·4·8192 bytes.
  EXPECT_EQ(catalog_memory_estimate(*e).serve_bytes,
            2LL * 134479872 + 2LL * 30 * 192 * 4 * 8192 + 4LL * 49152 + (200LL << 20));
}

// The config-only estimators equal the loaded model's for real checkpoints.
TEST(Catalog, ConfigEstimatorsMatchLoadedModels) {
  for (const char* dir : {"llama", "tied", "bf16", "qwen2", "qwen3", "gemma2", "gemma3"}) {
    const Model m = model_load(std::string(LOAM_TEST_DATA) + "/models/" + dir);
    EXPECT_EQ(model_param_count(m.config), model_param_count(m)) << dir;
    EXPECT_EQ(model_weight_bytes(m.config, m.weights.layers[0].wq.dtype), model_weight_bytes(m)) << dir;
  }
}

TEST(Catalog, ListFilterOverTheCatalog) {
  const ListFilter f = list_filter_parse("labels.model_garden=true AND labels.family=\"gemma\"");
  int n = 0, gemma = 0;
  for (const CatalogEntry& e : catalog_builtin().entries) {
    n += list_filter_matches(f, catalog_filter_record(e));
    gemma += e.family == "gemma";
  }
  EXPECT_EQ(n, gemma);
  EXPECT_GE(gemma, 7);
}

nlohmann::json valid_doc() { return json_read_file(kCatalogPath); }

TEST(Catalog, BrokenFilesNameTheEntryAndField) {
  auto doc = valid_doc();
  doc["models"][2].erase("context_length");
  EXPECT_EQ(error_of(doc), "models.json: models[2] (" + doc["models"][2]["id"].get<std::string>() +
                               "): field context_length: missing (required)");

  doc = valid_doc();
  doc["models"][0]["architecture"] = "PhiForCausalLM";
  EXPECT_NE(error_of(doc).find("field architecture: \"PhiForCausalLM\" is not an architecture Loam runs"),
            std::string::npos)
      << error_of(doc);

  doc = valid_doc();
  doc["models"][1]["n_heads"] = "32";
  EXPECT_NE(error_of(doc).find("models[1] (" + doc["models"][1]["id"].get<std::string>() +
                               "): field n_heads: expected a positive integer, got \"32\""),
            std::string::npos)
      << error_of(doc);

  doc = valid_doc();
  doc["models"][1]["n_kv_heads"] = 7;
  EXPECT_NE(error_of(doc).find("field n_kv_heads: 7 does not divide n_heads"), std::string::npos) << error_of(doc);

  doc = valid_doc();
  doc["models"][3]["id"] = doc["models"][0]["id"];
  EXPECT_NE(error_of(doc).find("models[3]"), std::string::npos);
  EXPECT_NE(error_of(doc).find("field id: duplicate id"), std::string::npos) << error_of(doc);

  doc = valid_doc();
  doc["models"][0]["labels"]["family"] = "other";
  EXPECT_NE(error_of(doc).find("field labels.family: must equal the family field"), std::string::npos)
      << error_of(doc);

  doc = valid_doc();
  doc["models"][0]["lora"]["learning_rate"] = 5;
  EXPECT_NE(error_of(doc).find(": lora: field learning_rate: expected a number in (0, 0.01]"), std::string::npos)
      << error_of(doc);

  doc = valid_doc();
  doc["models"][0]["id"] = "no-owner";
  EXPECT_NE(error_of(doc).find("field id: expected a Hugging Face id"), std::string::npos) << error_of(doc);

  EXPECT_EQ(error_of(nlohmann::json::array()), "models.json: expected an object with a \"models\" array");
}

}  // namespace
}  // namespace loam
