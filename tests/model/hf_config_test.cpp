// config.json -> ModelConfig for Gemma 3 multimodal wrappers: the text_config
// fields real checkpoints omit take transformers' Gemma3TextConfig defaults
// (models/gemma3/configuration_gemma3.py), written out here as numbers.
#include "model/hf_config.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"

namespace loam {
namespace {

using nlohmann::json;

// google/gemma-3-4b-it's config.json (transformers 4.50), as published.
json gemma3_4b_it() {
  return json::parse(R"({
    "architectures": ["Gemma3ForConditionalGeneration"],
    "boi_token_index": 255999, "eoi_token_index": 256000, "eos_token_id": [1, 106],
    "image_token_index": 262144, "initializer_range": 0.02, "mm_tokens_per_image": 256,
    "model_type": "gemma3",
    "text_config": {
      "hidden_size": 2560, "intermediate_size": 10240, "model_type": "gemma3_text",
      "num_hidden_layers": 34, "rope_scaling": {"factor": 8.0, "rope_type": "linear"},
      "sliding_window": 1024
    },
    "torch_dtype": "bfloat16", "transformers_version": "4.50.0.dev0",
    "vision_config": {
      "hidden_size": 1152, "image_size": 896, "intermediate_size": 4304,
      "model_type": "siglip_vision_model", "num_attention_heads": 16, "num_hidden_layers": 27,
      "patch_size": 14, "vision_use_head": false
    }
  })");
}

TEST(HfConfigGemma3Wrapper, OmittedTextFieldsTakeGemma3TextConfigDefaults) {
  ModelConfig c = model_config_from_hf(gemma3_4b_it(), "config.json");
  EXPECT_EQ(c.arch, "gemma3");
  EXPECT_EQ(c.hf_architecture, "Gemma3ForConditionalGeneration");
  // Given by the text_config.
  EXPECT_EQ(c.hidden, 2560);
  EXPECT_EQ(c.intermediate, 10240);
  EXPECT_EQ(c.n_layers, 34);
  EXPECT_EQ(c.sliding_window, 1024);
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::Linear);
  EXPECT_EQ(c.rope_scaling.factor, 8.0f);
  // Gemma3TextConfig defaults.
  EXPECT_EQ(c.vocab, 262208);
  EXPECT_EQ(c.n_heads, 8);
  EXPECT_EQ(c.n_kv_heads, 4);
  EXPECT_EQ(c.head_dim, 256);
  EXPECT_EQ(c.max_position, 131072);
  EXPECT_EQ(c.rms_eps, 1e-6f);
  EXPECT_EQ(c.rope_theta, 1e6f);
  EXPECT_EQ(c.rope_local_theta, 1e4f);
  EXPECT_EQ(c.attn_scale, 1.0f / 16.0f);  // query_pre_attn_scalar 256
  EXPECT_EQ(c.attn_softcap, 0.0f);
  EXPECT_EQ(c.final_softcap, 0.0f);
  EXPECT_TRUE(c.tie_embeddings);
  EXPECT_EQ(c.activation, Activation::GeluTanh);
  EXPECT_TRUE(c.qk_norm && c.sandwich_norms && c.norm_plus_one && c.embed_scale);
  // sliding_window_pattern 6: layers 5, 11, 17, 23, 29 are global.
  for (int i = 0; i < c.n_layers; i++) EXPECT_EQ(c.layer_sliding[i], (i + 1) % 6 != 0) << "layer " << i;
  // The wrapper's eos ids; bos from the text config's default.
  EXPECT_EQ(c.eos_ids, (std::vector<int>{1, 106}));
  EXPECT_EQ(c.bos_id, 2);
}

TEST(HfConfigGemma3Wrapper, TextConfigValuesWinOverDefaults) {
  json j = gemma3_4b_it();
  j["text_config"]["query_pre_attn_scalar"] = 168;
  j["text_config"]["num_attention_heads"] = 32;
  j["text_config"]["num_key_value_heads"] = 16;
  j["text_config"]["head_dim"] = 128;
  j["text_config"]["rope_local_base_freq"] = 20000.0;
  j["text_config"]["sliding_window_pattern"] = 3;
  ModelConfig c = model_config_from_hf(j, "config.json");
  EXPECT_EQ(c.n_heads, 32);
  EXPECT_EQ(c.n_kv_heads, 16);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_FLOAT_EQ(c.attn_scale, 1.0f / std::sqrt(168.0f));
  EXPECT_EQ(c.rope_local_theta, 20000.0f);
  EXPECT_FALSE(c.layer_sliding[2]);
  EXPECT_TRUE(c.layer_sliding[3]);
}

TEST(HfConfigGemma3Wrapper, TokenIdsAndTyingFromTheWrapper) {
  json j = gemma3_4b_it();
  j.erase("eos_token_id");
  j["text_config"]["eos_token_id"] = 7;
  j["tie_word_embeddings"] = false;
  ModelConfig c = model_config_from_hf(j, "config.json");
  EXPECT_EQ(c.eos_ids, std::vector<int>{7});  // no wrapper ids: the text config's
  EXPECT_FALSE(c.tie_embeddings);             // the wrapper's, text_config has none
  j["bos_token_id"] = 5;
  j["text_config"]["tie_word_embeddings"] = true;
  c = model_config_from_hf(j, "config.json");
  EXPECT_EQ(c.bos_id, 5);
  EXPECT_TRUE(c.tie_embeddings);
}

// The flat Gemma3ForCausalLM config (1B) reads the same defaults.
TEST(HfConfigGemma3, CausalLmConfigTakesTheSameDefaults) {
  json j = gemma3_4b_it()["text_config"];
  j["architectures"] = {"Gemma3ForCausalLM"};
  ModelConfig c = model_config_from_hf(j, "config.json");
  EXPECT_EQ(c.hf_architecture, "Gemma3ForCausalLM");
  EXPECT_EQ(c.n_heads, 8);
  EXPECT_EQ(c.vocab, 262208);
  EXPECT_EQ(c.attn_scale, 1.0f / 16.0f);
  EXPECT_EQ(c.eos_ids, std::vector<int>{1});
}

// transformers v5 saves the ropes as rope_parameters (per layer type for
// Gemma 3) instead of rope_theta / rope_scaling / rope_local_base_freq.
TEST(HfConfigGemma3Wrapper, RopeParametersOfTransformersV5) {
  json j = gemma3_4b_it();
  j["text_config"].erase("rope_scaling");
  j["text_config"]["rope_parameters"] = json::parse(R"({
    "full_attention": {"factor": 8.0, "rope_theta": 2000000.0, "rope_type": "linear"},
    "sliding_attention": {"rope_theta": 20000.0, "rope_type": "default"}})");
  ModelConfig c = model_config_from_hf(j, "config.json");
  EXPECT_EQ(c.rope_theta, 2e6f);
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::Linear);
  EXPECT_EQ(c.rope_scaling.factor, 8.0f);
  EXPECT_EQ(c.rope_local_theta, 2e4f);
  j["text_config"]["rope_parameters"]["sliding_attention"]["rope_type"] = "linear";
  try {
    model_config_from_hf(j, "config.json");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "config.json: field text_config.rope_parameters.sliding_attention.rope_type");
  }
}

TEST(HfConfig, FlatRopeParametersOfTransformersV5) {
  json j = json::parse(R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
    "num_attention_heads": 4, "num_hidden_layers": 2, "vocab_size": 256,
    "rope_parameters": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                        "original_max_position_embeddings": 8192, "rope_theta": 500000.0, "rope_type": "llama3"}})");
  ModelConfig c = model_config_from_hf(j, "config.json");
  EXPECT_EQ(c.rope_theta, 5e5f);
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::Llama3);
  EXPECT_EQ(c.rope_scaling.factor, 8.0f);
  EXPECT_EQ(c.rope_scaling.original_max_position, 8192);
}

TEST(HfConfigGemma3Wrapper, ErrorsNameTheTextConfigField) {
  json j = gemma3_4b_it();
  j["text_config"]["num_attention_heads"] = "eight";
  try {
    model_config_from_hf(j, "m/config.json");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "m/config.json: field text_config.num_attention_heads");
  }
  j = gemma3_4b_it();
  j["text_config"]["rope_scaling"]["rope_type"] = "yarn";
  try {
    model_config_from_hf(j, "m/config.json");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "m/config.json: field text_config.rope_scaling.rope_type");
  }
}

// Gemma 2: omitted fields take Gemma2Config's defaults (soft-capping on at
// 50 / 30, query_pre_attn_scalar 256); an explicit null turns soft-capping off.
TEST(HfConfigGemma2, OmittedFieldsTakeGemma2ConfigDefaults) {
  json cfg = json::parse(R"({"architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2",
    "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 300})");
  ModelConfig c = model_config_from_hf(cfg, "config.json");
  EXPECT_FLOAT_EQ(c.attn_softcap, 50.0f);
  EXPECT_FLOAT_EQ(c.final_softcap, 30.0f);
  EXPECT_FLOAT_EQ(c.attn_scale, 1.0f / 16.0f);  // 256^-1/2, not head_dim^-1/2
  EXPECT_EQ(c.sliding_window, 4096);
  EXPECT_FLOAT_EQ(c.rope_theta, 10000.0f);
  EXPECT_TRUE(c.tie_embeddings);
  cfg["attn_logit_softcapping"] = nullptr;
  cfg["final_logit_softcapping"] = nullptr;
  c = model_config_from_hf(cfg, "config.json");
  EXPECT_EQ(c.attn_softcap, 0.0f);
  EXPECT_EQ(c.final_softcap, 0.0f);
}

}  // namespace
}  // namespace loam
