// The console's REST operations on a data directory, without a model:
// datasets:inspect names each bad line and resolves uploaded file ids,
// datasets:split writes two registered files, bad requests name their field;
// the console's files are public and nothing else is.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "registry/errors.h"
#include "registry/store.h"
#include "serve/api_console.h"
#include "serve/api_error.h"
#include "serve/console_assets.h"

namespace loam {
namespace {

using nlohmann::json;

class ApiConsole : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/loam_console_XXXXXX";
    dir_ = mkdtemp(tmpl);
    store_ = store_open(dir_);
    ctx_ = std::make_unique<ControlContext>(ControlContext{*store_, {dir_ + "/buckets", {dir_}}, nullptr});
  }
  void TearDown() override {
    ctx_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string write(const std::string& name, const std::string& text) {
    const std::string p = dir_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  // The HTTP status and message the error would answer with.
  template <class F>
  std::pair<int, std::string> error_of(F f) {
    try {
      f();
    } catch (const std::exception& e) {
      ApiError a = api_error_of(e);
      return {a.http_status, a.body()["error"]["message"].get<std::string>()};
    }
    return {200, ""};
  }
  std::string dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ControlContext> ctx_;
};

TEST_F(ApiConsole, InspectNamesEachBadLine) {
  const std::string p = write("d.jsonl",
                              "{\"input_text\": \"a\", \"output_text\": \"b\"}\n"
                              "{\"input_text\": \"broken\n"
                              "{\"input_text\": \"no answer\"}\n"
                              "{\"input_text\": \"a\", \"output_text\": \"b\"}\n");
  json r = api_dataset_inspect(*ctx_, {{"datasetUri", p}});
  EXPECT_FALSE(r["ok"].get<bool>());
  EXPECT_EQ(r["records"], 4);
  EXPECT_EQ(r["examples"], 2);
  EXPECT_EQ(r["duplicates"], 1);
  ASSERT_GE(r["issues"].size(), 2u);
  EXPECT_EQ(r["issues"][0]["line"], 2);
  EXPECT_EQ(r["issues"][0]["file"], p);
  EXPECT_EQ(r["issues"][1]["line"], 3);
  EXPECT_EQ(r["issues"][1]["field"], "output_text");
  EXPECT_EQ(r["path"], p);
  EXPECT_FALSE(r.contains("tokens"));  // no model, no token statistics
}

TEST_F(ApiConsole, InspectAndSplitAnUploadedFileById) {
  std::string text;
  for (int i = 0; i < 10; i++)
    text += "{\"input_text\": \"q" + std::to_string(i) + "\", \"output_text\": \"a" + std::to_string(i) + "\"}\n";
  DatasetRecord d{"file-1", "ten.jsonl", "fine-tune", write("ten.jsonl", text), "", 0, "2026-01-01T00:00:00Z"};
  store_->dataset_insert(d);
  json r = api_dataset_inspect(*ctx_, {{"datasetUri", "file-1"}});
  EXPECT_TRUE(r["ok"].get<bool>());
  EXPECT_EQ(r["examples"], 10);
  EXPECT_EQ(r["issues"].size(), 0u);

  json s = api_dataset_split(*ctx_, {{"datasetUri", "file-1"}, {"validationFraction", 0.3}, {"seed", 7}});
  EXPECT_EQ(s["train"]["examples"], 7);
  EXPECT_EQ(s["validation"]["examples"], 3);
  for (const char* side : {"train", "validation"}) {
    const std::string id = s[side]["id"];
    auto rec = store_->dataset_get(id);
    ASSERT_TRUE(rec) << id;
    EXPECT_TRUE(std::filesystem::exists(rec->path));
    EXPECT_EQ(rec->filename, std::string("ten-") + side + ".jsonl");
  }
  // Same seed, same split.
  json again = api_dataset_split(*ctx_, {{"datasetUri", "file-1"}, {"validationFraction", 0.3}, {"seed", 7}});
  auto read = [&](const json& f) {
    std::ifstream in(f["path"].get<std::string>());
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(read(s["validation"]), read(again["validation"]));
}

TEST_F(ApiConsole, BadRequestsNameTheirField) {
  auto [code, msg] = error_of([&] { api_dataset_inspect(*ctx_, json::object()); });
  EXPECT_EQ(code, 400);
  EXPECT_NE(msg.find("datasetUri"), std::string::npos) << msg;
  std::tie(code, msg) = error_of([&] { api_dataset_inspect(*ctx_, {{"datasetUri", "file-404"}}); });
  EXPECT_EQ(code, 404);
  std::tie(code, msg) = error_of([&] { api_dataset_inspect(*ctx_, {{"datasetUri", "/etc/passwd"}}); });
  EXPECT_EQ(code, 403) << msg;
  std::tie(code, msg) = error_of([&] { api_dataset_inspect(*ctx_, {{"datasetUri", "x"}, {"bogus", 1}}); });
  EXPECT_EQ(code, 400);
  EXPECT_NE(msg.find("bogus"), std::string::npos) << msg;
  const std::string p = write("two.jsonl", "{\"input_text\": \"a\", \"output_text\": \"b\"}\n{\"input_text\": \"c\", \"output_text\": \"d\"}\n");
  std::tie(code, msg) = error_of([&] { api_dataset_split(*ctx_, {{"datasetUri", p}, {"validationFraction", 1.5}}); });
  EXPECT_EQ(code, 400);
  EXPECT_NE(msg.find("validationFraction"), std::string::npos) << msg;
  std::tie(code, msg) = error_of([&] {
    api_tuning_plan(*ctx_, {{"baseModel", "nope"}, {"supervisedTuningSpec", {{"trainingDatasetUri", p}}}});
  });
  EXPECT_EQ(code, 404) << msg;
  std::tie(code, msg) = error_of([&] { api_model_evaluate(*ctx_, {}, "nope", {{"datasetUri", p}}); });
  EXPECT_EQ(code, 404) << msg;
}

TEST(ConsoleAssets, OnlyTheConsoleIsPublic) {
  EXPECT_TRUE(console_path_public("/"));
  EXPECT_TRUE(console_path_public("/console/app.js"));
  EXPECT_FALSE(console_path_public("/console"));
  EXPECT_FALSE(console_path_public("/v1/files"));
  EXPECT_FALSE(console_path_public("/metrics"));
  EXPECT_EQ(console_asset_find("../registry.db"), nullptr);
  // A build with web/dist has the page, typed; one without has nothing.
  if (kConsoleAssetCount > 0) {
    const ConsoleAsset* index = console_asset_find("index.html");
    ASSERT_NE(index, nullptr);
    EXPECT_STREQ(index->content_type, "text/html; charset=utf-8");
    const std::string body(reinterpret_cast<const char*>(index->data), index->size);
    EXPECT_NE(body.find("/console/app.js"), std::string::npos);
  } else {
    EXPECT_EQ(console_asset_find("index.html"), nullptr);
  }
}

}  // namespace
}  // namespace loam
