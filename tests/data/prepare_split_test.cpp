// prepare: containers -> canonical JSONL, atomic; split: reproducible,
// stratified, duplicates removed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "core/error.h"
#include "core/file_io.h"
#include "data/prepare.h"
#include "data/split.h"

namespace loam {
namespace {

namespace fs = std::filesystem;

std::string temp_dir(const std::string& name) {
  std::string d = ::testing::TempDir() + "/loam_data_" + name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> out;
  std::string all = file_read_all(path), cur;
  for (char c : all) {
    if (c == '\n') out.push_back(std::move(cur)), cur.clear();
    else cur += c;
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

TEST(Prepare, CsvToCanonicalJsonl) {
  std::string d = temp_dir("prep_csv");
  file_write_atomic(d + "/in.csv", "input_text,output_text\n\"Reset, how?\",\"Open \"\"Settings\"\"\nthen Reset.\"\n");
  PrepareResult r = dataset_prepare(d + "/in.csv", d + "/out.jsonl", {});
  ASSERT_TRUE(r.report.ok());
  EXPECT_EQ(r.n_written, 1u);
  EXPECT_THAT(lines_of(d + "/out.jsonl"),
              ::testing::ElementsAre(R"({"messages":[{"content":"Reset, how?","role":"user"},)"
                                     R"({"content":"Open \"Settings\"\nthen Reset.","role":"assistant"}]})"));
  // The output validates again and reads back the same texts.
  Dataset again = dataset_load(d + "/out.jsonl", {});
  ASSERT_EQ(again.examples.size(), 1u);
  EXPECT_EQ(again.examples[0].turns[1].text, "Open \"Settings\"\nthen Reset.");
}

TEST(Prepare, JsonArrayClassificationAndColumnMapping) {
  std::string d = temp_dir("prep_json");
  file_write_atomic(d + "/in.json", R"([{"text":"crash","label":"bug"},{"text":"refund","label":"billing"}])");
  PrepareResult r = dataset_prepare(d + "/in.json", d + "/out.jsonl", {});
  EXPECT_EQ(r.n_written, 2u);
  EXPECT_THAT(lines_of(d + "/out.jsonl"),
              ::testing::ElementsAre(R"({"label":"bug","text":"crash"})", R"({"label":"billing","text":"refund"})"));
  file_write_atomic(d + "/qa.tsv", "q\ta\nWhat?\tThis.\n");
  DatasetOptions o;
  o.input_column = "q";
  o.output_column = "a";
  r = dataset_prepare(d + "/qa.tsv", d + "/qa.jsonl", o);
  EXPECT_EQ(r.n_written, 1u);
  EXPECT_THAT(lines_of(d + "/qa.jsonl"), ::testing::ElementsAre(R"({"messages":[{"content":"What?","role":"user"},)"
                                                                R"({"content":"This.","role":"assistant"}]})"));
}

TEST(Prepare, InvalidInputLeavesTheOldOutputAlone) {
  std::string d = temp_dir("prep_bad");
  file_write_atomic(d + "/out.jsonl", "previous\n");
  file_write_atomic(d + "/in.jsonl", "{\"input_text\":\"a\",\"output_text\":\"b\"}\n{\"input_text\":\"a\"}\n");
  PrepareResult r = dataset_prepare(d + "/in.jsonl", d + "/out.jsonl", {});
  EXPECT_FALSE(r.report.ok());
  EXPECT_EQ(r.n_written, 0u);
  EXPECT_EQ(file_read_all(d + "/out.jsonl"), "previous\n");
  for (const auto& entry : fs::directory_iterator(d))
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
  EXPECT_THROW(dataset_prepare(d + "/in.jsonl", d + "/in.jsonl", {}), Error);
}

std::string classification_file(const std::string& d) {
  std::string text;
  // 60 "bug", 30 "billing", 10 "praise", plus 5 exact duplicates.
  for (int i = 0; i < 100; ++i) {
    const char* label = i < 60 ? "bug" : i < 90 ? "billing" : "praise";
    text += R"({"text":"ticket )" + std::to_string(i) + R"(","label":")" + label + "\"}\n";
  }
  for (int i = 0; i < 5; ++i) text += R"({"label":"bug","text":"ticket )" + std::to_string(i) + "\"}\n";
  file_write_atomic(d + "/in.jsonl", text);
  return d + "/in.jsonl";
}

TEST(Split, StratifiedReproducibleAndDeduplicated) {
  std::string d = temp_dir("split");
  std::string in = classification_file(d);
  SplitOptions so;
  so.validation_fraction = 0.2;
  so.seed = 7;
  SplitResult r = dataset_split(in, d + "/train.jsonl", d + "/val.jsonl", {}, so);
  ASSERT_TRUE(r.report.ok());
  EXPECT_EQ(r.n_duplicates_removed, 5u);
  EXPECT_EQ(r.n_train, 80u);
  EXPECT_EQ(r.n_validation, 20u);
  EXPECT_EQ(r.labels.at("bug"), (std::pair<size_t, size_t>{48, 12}));
  EXPECT_EQ(r.labels.at("billing"), (std::pair<size_t, size_t>{24, 6}));
  EXPECT_EQ(r.labels.at("praise"), (std::pair<size_t, size_t>{8, 2}));
  auto train = lines_of(d + "/train.jsonl"), val = lines_of(d + "/val.jsonl");
  EXPECT_EQ(train.size(), 80u);
  EXPECT_EQ(val.size(), 20u);
  std::set<std::string> all(train.begin(), train.end());
  for (const auto& v : val) EXPECT_TRUE(all.insert(v).second) << "in both: " << v;
  EXPECT_EQ(all.size(), 100u);

  // Same seed: identical files. Other seed: a different validation set.
  dataset_split(in, d + "/train2.jsonl", d + "/val2.jsonl", {}, so);
  EXPECT_EQ(file_read_all(d + "/train.jsonl"), file_read_all(d + "/train2.jsonl"));
  EXPECT_EQ(file_read_all(d + "/val.jsonl"), file_read_all(d + "/val2.jsonl"));
  so.seed = 8;
  dataset_split(in, d + "/train3.jsonl", d + "/val3.jsonl", {}, so);
  EXPECT_NE(file_read_all(d + "/val.jsonl"), file_read_all(d + "/val3.jsonl"));
}

TEST(Split, PinnedOrderForSeedZero) {
  // Guards cross-platform reproducibility: the generator is ours, not <random>'s.
  SplitMix64 rng{0};
  EXPECT_EQ(rng.next(), 0xE220A8397B1DCDAFull);
  EXPECT_EQ(rng.next(), 0x6E789E6AA1B965F4ull);
}

TEST(Split, BadFractionAndTooFewExamples) {
  std::string d = temp_dir("split_bad");
  std::string in = classification_file(d);
  SplitOptions so;
  so.validation_fraction = 1.0;
  EXPECT_THROW(dataset_split(in, d + "/a", d + "/b", {}, so), Error);
  file_write_atomic(d + "/one.jsonl", "{\"input_text\":\"a\",\"output_text\":\"b\"}\n");
  so.validation_fraction = 0.5;
  EXPECT_THROW(dataset_split(d + "/one.jsonl", d + "/a", d + "/b", {}, so), Error);
}

}  // namespace
}  // namespace loam
