// `loam convert` of a Gemma 3 multimodal wrapper: a "gemma3" GGUF file of the
// text model only, as llama.cpp's converter writes the text part, which loads
// back to the reference logits (tests/data/models/gemma3-mm).
#include "model/gguf_export.h"

#include <gtest/gtest.h>

#include <cmath>

#include "formats/gguf.h"
#include "model/reference_case.h"

namespace loam {
namespace {

TEST(GgufExportWrapper, WritesTheTextModelAsGemma3) {
  Model m = model_load(test::model_case_dir("gemma3-mm"));
  const std::string path = test::scratch_dir("gguf_export") + "/m.gguf";
  model_export_gguf(m, nullptr, DType::F32, path);

  GgufFile g = GgufFile::open(path);
  EXPECT_EQ(g.get_string("general.architecture"), "gemma3");
  EXPECT_EQ(g.get_int("gemma3.block_count"), 6);
  EXPECT_EQ(g.get_int("gemma3.embedding_length"), 32);
  EXPECT_EQ(g.get_int("gemma3.attention.head_count"), 8);     // Gemma3TextConfig default
  EXPECT_EQ(g.get_int("gemma3.attention.head_count_kv"), 4);  // Gemma3TextConfig default
  EXPECT_EQ(g.get_int("gemma3.attention.key_length"), 8);
  EXPECT_EQ(g.get_int("gemma3.attention.sliding_window"), 4);
  EXPECT_EQ(g.get_int("gemma3.context_length"), 131072);
  EXPECT_EQ(g.get_float("gemma3.rope.freq_base"), 1e6);
  EXPECT_EQ(g.get_string("gemma3.rope.scaling.type"), "linear");
  EXPECT_EQ(g.get_float("gemma3.rope.scaling.factor"), 8.0);
  EXPECT_EQ(g.get_float("gemma3.attention.scale"), 1.0 / 16.0);  // query_pre_attn_scalar 256
  // token_embd, output_norm and 13 tensors per layer; tied, so no output.weight.
  EXPECT_EQ(g.tensors().size(), 2u + 6u * 13u);
  for (const TensorRef& t : g.tensors())
    EXPECT_TRUE(t.name == "token_embd.weight" || t.name == "output_norm.weight" || t.name.rfind("blk.", 0) == 0)
        << t.name;

  Model back = model_load(path);
  SafetensorsFile ref = SafetensorsFile::open(test::model_case_dir("gemma3-mm") + "/reference.safetensors");
  const double d = test::reference_logits_maxdiff(back, nullptr, ref, "logits");
  EXPECT_LE(d, 1e-4) << "GGUF maxdiff " << d;
}

}  // namespace
}  // namespace loam
