// The GGUF reader against an independent reference: tests/data/formats/
// tiny.gguf, laid out by tools/make_gguf_refs.py with Python's struct module
// from the public spec; tiny.gguf.json lists the values it wrote.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "formats/gguf.h"

namespace loam {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

const std::string kTiny = std::string(LOAM_TEST_DATA) + "/formats/tiny.gguf";

json reference() { return json::parse(file_read_all(kTiny + ".json")); }

// Decodes n values of a tensor as floats (the test's own decoder).
std::vector<double> values_of(const TensorRef& t) {
  std::vector<double> out;
  const int64_t n = t.n_elements();
  for (int64_t i = 0; i < n; i++) {
    switch (t.dtype) {
      case DType::F32: { float v; std::memcpy(&v, t.data + 4 * i, 4); out.push_back(v); break; }
      case DType::F16: { uint16_t h; std::memcpy(&h, t.data + 2 * i, 2); out.push_back(f16_to_f32(h)); break; }
      case DType::BF16: { uint16_t h; std::memcpy(&h, t.data + 2 * i, 2); out.push_back(bf16_to_f32(h)); break; }
      case DType::Q8_0: {
        const uint8_t* block = t.data + (i / 32) * 34;
        uint16_t d;
        std::memcpy(&d, block, 2);
        out.push_back(static_cast<double>(f16_to_f32(d)) * static_cast<int8_t>(block[2 + i % 32]));
        break;
      }
      default: ADD_FAILURE() << "unexpected dtype";
    }
  }
  return out;
}

TEST(GgufReference, HeaderAndMetadata) {
  json ref = reference();
  GgufFile g = GgufFile::open(kTiny);
  EXPECT_EQ(g.version(), ref["version"].get<uint32_t>());
  EXPECT_EQ(g.alignment(), ref["alignment"].get<uint32_t>());
  ASSERT_EQ(g.keys().size(), ref["metadata"].size());
  size_t k = 0;
  for (auto it = ref["metadata"].begin(); it != ref["metadata"].end(); ++it, ++k) {
    const std::string key = it.key();
    const std::string type = it.value()["type"];
    const json& v = it.value()["value"];
    SCOPED_TRACE(key);
    EXPECT_TRUE(g.has(key));
    ASSERT_NE(g.value(key), nullptr);
    EXPECT_EQ(gguf_type_name(g.value(key)->type), type);
    if (type == "string") {
      EXPECT_EQ(g.get_string(key), v.get<std::string>());
    } else if (type == "bool") {
      EXPECT_EQ(g.get_bool(key), v.get<bool>());
    } else if (type == "f32" || type == "f64") {
      EXPECT_EQ(*g.get_float(key), v.get<double>());
    } else if (type == "array") {
      const std::string elem = it.value()["elem"];
      if (elem == "string") {
        EXPECT_EQ(*g.get_string_array(key), v.get<std::vector<std::string>>());
      } else if (elem == "f32") {
        std::vector<float> want;
        for (const json& x : v) want.push_back(x.get<float>());
        EXPECT_EQ(*g.get_float_array(key), want);
      } else {
        EXPECT_EQ(*g.get_int_array(key), v.get<std::vector<int64_t>>());
      }
    } else {
      EXPECT_EQ(*g.get_int(key), v.get<int64_t>());
      EXPECT_EQ(*g.get_float(key), v.get<double>());  // ints widen to float too
    }
  }
  EXPECT_EQ(g.keys().front(), "general.architecture");  // file order kept
}

TEST(GgufReference, TensorsInHfOrderWithReferenceValues) {
  json ref = reference();
  GgufFile g = GgufFile::open(kTiny);
  ASSERT_EQ(g.tensors().size(), ref["tensors"].size());
  for (size_t i = 0; i < g.tensors().size(); i++) {
    const json& r = ref["tensors"][i];
    const TensorRef& t = g.tensors()[i];
    SCOPED_TRACE(t.name);
    EXPECT_EQ(t.name, r["name"].get<std::string>());
    EXPECT_EQ(t.ggml_type, r["ggml_type"].get<int>());
    EXPECT_EQ(t.shape, r["shape"].get<std::vector<int64_t>>());
    EXPECT_EQ(t.n_bytes, r["n_bytes"].get<size_t>());
    EXPECT_EQ(t.file, kTiny);
    if (r["values"].is_null()) {
      EXPECT_FALSE(t.supported);
      EXPECT_EQ(t.data, nullptr);
      continue;
    }
    ASSERT_TRUE(t.supported);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % 32, 0u);  // aligned data section
    EXPECT_EQ(values_of(t), r["values"].get<std::vector<double>>());
  }
  EXPECT_EQ(g.get("blk.0.q8.weight").dtype, DType::Q8_0);
  EXPECT_EQ(g.get("blk.0.f32.weight").shape, (std::vector<int64_t>{2, 3}));  // ne = [3, 2]
}

TEST(GgufReference, UnsupportedTypeIsListedButNotReadable) {
  GgufFile g = GgufFile::open(kTiny);
  EXPECT_TRUE(g.has_tensor("blk.0.q4k.weight"));
  const TensorRef& listed = g.tensors().back();
  EXPECT_EQ(g.tensor_type_name(listed), "Q4_K");
  EXPECT_EQ(listed.shape, (std::vector<int64_t>{1, 256}));
  for (auto access : {0, 1}) {
    try {
      if (access) g.get("blk.0.q4k.weight");
      else g.find("blk.0.q4k.weight");
      ADD_FAILURE();
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("tiny.gguf: tensor blk.0.q4k.weight"));
      EXPECT_THAT(e.what(), HasSubstr("Q4_K"));
      EXPECT_THAT(e.what(), HasSubstr("F32, F16, BF16, Q8_0"));
    }
  }
  EXPECT_EQ(g.find("absent"), nullptr);
  EXPECT_THROW(g.get("absent"), Error);
}

TEST(GgufReference, WrongTypeGettersNameTheKey) {
  GgufFile g = GgufFile::open(kTiny);
  try {
    g.get_int("general.name");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("tiny.gguf: metadata key general.name"));
    EXPECT_THAT(e.what(), HasSubstr("string"));
  }
  EXPECT_THROW(g.get_string("llama.block_count"), Error);
  EXPECT_THROW(g.get_bool("test.u8"), Error);
  EXPECT_THROW(g.get_string_array("tokenizer.ggml.scores"), Error);
  EXPECT_THROW(g.get_int_array("tokenizer.ggml.tokens"), Error);
  EXPECT_THROW(g.get_float("tokenizer.ggml.tokens"), Error);
  EXPECT_FALSE(g.get_int("absent").has_value());
  EXPECT_FALSE(g.get_string_array("absent").has_value());
  EXPECT_EQ(g.value_to_string("tokenizer.ggml.tokens", 2), "[\"<s>\", \"</s>\", ... (6 items)]");
  EXPECT_EQ(g.value_to_string("llama.block_count"), "2");
}

}  // namespace
}  // namespace loam
