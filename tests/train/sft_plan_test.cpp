// The tuning plan's memory estimate and the refusal it drives, and the
// --max-memory size parser.
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "model/model.h"
#include "train/sft_config.h"
#include "train/sft_trainer.h"

namespace loam {
namespace {

TEST(ParseByteSize, AcceptsUnitsPeopleWrite) {
  EXPECT_EQ(parse_byte_size("1024", "--max-memory"), 1024);
  EXPECT_EQ(parse_byte_size("512M", "--max-memory"), int64_t{512} << 20);
  EXPECT_EQ(parse_byte_size("8G", "--max-memory"), int64_t{8} << 30);
  EXPECT_EQ(parse_byte_size("1.5GiB", "--max-memory"), int64_t{3} << 29);
  EXPECT_EQ(parse_byte_size("64KB", "--max-memory"), int64_t{64} << 10);
  EXPECT_EQ(parse_byte_size("2T", "--max-memory"), int64_t{2} << 40);
  EXPECT_EQ(parse_byte_size("8g", "--max-memory"), int64_t{8} << 30);
  EXPECT_EQ(parse_byte_size("100mb", "--max-memory"), int64_t{100} << 20);
}

TEST(ParseByteSize, RejectsOtherTextNamingTheFlag) {
  for (const char* bad : {"", "lots", "8X", "-1G", "0", "G", "8GG", "1e30T"}) {
    try {
      parse_byte_size(bad, "--max-memory");
      ADD_FAILURE() << "accepted \"" << bad << "\"";
    } catch (const Error& e) {
      EXPECT_EQ(e.where(), "--max-memory");
      EXPECT_NE(e.message().find(bad), std::string::npos) << e.message();
    }
  }
}

SftPlan plan_needing(int64_t bytes) {
  SftPlan p;
  p.peak_memory_bytes = bytes;
  p.max_batch_tokens = 4096;
  return p;
}

TEST(SftCheckMemory, RefusesAPlanAboveTheLimitSayingWhatToChange) {
  SftConfig cfg;
  cfg.hyperparameters.batch_size = 4;
  try {
    sft_check_memory(plan_needing(int64_t{3} << 30), cfg, int64_t{1} << 30);
    FAIL() << "a 3 GiB plan passed a 1 GiB limit";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("3.00 GiB"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("1.00 GiB available"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("4096 tokens"), std::string::npos) << e.message();
    for (const char* flag : {"runtime.gradient_checkpointing", "hyperparameters.max_seq_length",
                             "hyperparameters.batch_size (now 4)"})
      EXPECT_NE(e.hint().find(flag), std::string::npos) << e.hint();
  }
}

TEST(SftCheckMemory, SuggestsOnlyWhatIsNotAlreadySet) {
  SftConfig cfg;
  cfg.runtime.gradient_checkpointing = true;
  cfg.hyperparameters.batch_size = 1;
  cfg.runtime.max_memory_bytes = int64_t{1} << 30;
  try {
    sft_check_memory(plan_needing(int64_t{2} << 30), cfg, *cfg.runtime.max_memory_bytes);
    FAIL() << "a 2 GiB plan passed a 1 GiB runtime.max_memory";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("(runtime.max_memory)"), std::string::npos) << e.message();
    EXPECT_EQ(e.hint().find("gradient_checkpointing"), std::string::npos) << e.hint();
    EXPECT_EQ(e.hint().find("batch_size"), std::string::npos) << e.hint();
    EXPECT_NE(e.hint().find("hyperparameters.max_seq_length"), std::string::npos) << e.hint();
  }
}

TEST(SftCheckMemory, AcceptsPlansWithinTheLimitOrWhenTheLimitIsUnknown) {
  SftConfig cfg;
  EXPECT_NO_THROW(sft_check_memory(plan_needing(int64_t{1} << 30), cfg, int64_t{1} << 30));
  EXPECT_NO_THROW(sft_check_memory(plan_needing(int64_t{1} << 40), cfg, 0));
  EXPECT_NO_THROW(sft_check_memory(plan_needing(int64_t{1} << 40), cfg, -1));
}

// The estimate follows the batch: more tokens need more, recomputation less.
TEST(SftPlan, MemoryEstimateGrowsWithTokensAndShrinksWithCheckpointing) {
  const Model m = model_load(std::string(LOAM_TEST_DATA) + "/models/llama");
  auto data_of = [&](int64_t len) {
    SftData d;
    for (int i = 0; i < 4; i++) {
      SftSequence s;
      for (int64_t t = 0; t < len; t++) {
        s.input_ids.push_back(static_cast<int32_t>(t % m.config.vocab));
        s.labels.push_back(t < len / 2 ? -100 : s.input_ids.back());
      }
      d.train.push_back(s);
    }
    return d;
  };
  SftConfig cfg;
  cfg.hyperparameters.batch_size = 2;
  cfg.hyperparameters.epochs = 1;
  const SftPlan small = sft_plan(m, data_of(64), cfg), large = sft_plan(m, data_of(1024), cfg);
  EXPECT_EQ(small.max_batch_tokens, 128);
  EXPECT_EQ(large.max_batch_tokens, 2048);
  EXPECT_GT(large.peak_memory_bytes, small.peak_memory_bytes);
  EXPECT_GT(small.peak_memory_bytes, model_weight_bytes(m));
  cfg.runtime.gradient_checkpointing = true;
  EXPECT_LT(sft_plan(m, data_of(1024), cfg).peak_memory_bytes, large.peak_memory_bytes);
}

}  // namespace
}  // namespace loam
