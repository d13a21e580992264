// The SQLite store: migrations, models with versions/aliases, job
// compare-and-set, metrics replaced per step, and import by content.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "registry/data_dir.h"
#include "registry/migrations.h"
#include "registry/model_import.h"
#include "registry/model_ref.h"
#include "registry/store.h"

namespace loam {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/loam_registry_XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string path;
};

void write(const std::string& p, const std::string& s) { std::ofstream(p) << s; }

int schema_version(const std::string& db_path) {
  sqlite3* db = nullptr;
  sqlite3_open(db_path.c_str(), &db);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr);
  sqlite3_step(st);
  int v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

TEST(Store, FreshDatabaseIsMigratedAndNewerIsRefused) {
  TempDir d;
  { auto s = store_open(d.path); }
  EXPECT_EQ(schema_version(d.path + "/registry.db"), migrations_latest());
  sqlite3* db = nullptr;
  sqlite3_open((d.path + "/registry.db").c_str(), &db);
  sqlite3_exec(db, "PRAGMA user_version=999", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  try {
    store_open(d.path);
    FAIL() << "a newer schema was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("newer than this loam understands"), std::string::npos) << e.what();
  }
  EXPECT_EQ(schema_version(d.path + "/registry.db"), 999);  // left untouched
}

TEST(Store, OlderDatabaseIsUpgradedKeepingItsFile) {
  TempDir d;
  sqlite3* db = nullptr;
  sqlite3_open((d.path + "/registry.db").c_str(), &db);  // version 0: an empty database
  sqlite3_exec(db, "CREATE TABLE keep_me (x INTEGER); INSERT INTO keep_me VALUES (7)", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  auto s = store_open(d.path);
  EXPECT_EQ(schema_version(d.path + "/registry.db"), migrations_latest());
  EXPECT_TRUE(s->model_list().empty());
}

ModelRecord model(const std::string& id, int version, const std::string& name) {
  ModelRecord m;
  m.id = id;
  m.version_id = version;
  m.display_name = name;
  m.kind = "imported";
  m.format = "hf";
  m.artifact_path = "/x";
  m.labels = {{"family", "llama"}};
  m.create_time = m.update_time = time_now_rfc3339();
  return m;
}

TEST(Store, ModelVersionsAliasesAndReferences) {
  TempDir d;
  auto s = store_open(d.path);
  s->model_insert(model("11", 1, "base"));
  s->model_insert(model("11", 2, "base"));
  s->model_insert(model("22", 1, "other"));
  EXPECT_THROW(s->model_insert(model("22", 1, "dup")), Error);
  EXPECT_EQ(s->model_get("11")->version_id, 2);  // default points at the newest insert
  EXPECT_EQ(s->model_get("11", 1)->version_id, 1);
  ASSERT_EQ(s->model_list().size(), 2u);
  EXPECT_EQ(model_resolve(*s, "11@1", "m").version_id, 1);
  EXPECT_EQ(model_resolve(*s, "projects/p/locations/us/models/11@default", "m").version_id, 2);
  EXPECT_EQ(model_resolve(*s, "other", "m").id, "22");
  EXPECT_EQ(model_resolve(*s, "models/22", "m").id, "22");
  EXPECT_THROW(model_resolve(*s, "11@7", "m"), Error);
  EXPECT_THROW(model_resolve(*s, "nothing", "m"), Error);
  s->model_insert(model("33", 1, "other"));
  EXPECT_THROW(model_resolve(*s, "other", "m"), Error);  // ambiguous display name
  s->model_delete("11");
  EXPECT_FALSE(s->model_get("11").has_value());
  EXPECT_THROW(s->model_delete("11"), Error);
}

TEST(Store, JobCompareAndSetMetricsAndEvents) {
  TempDir d;
  auto s = store_open(d.path);
  JobRecord j;
  j.id = "5";
  j.api = "cli";
  j.state = "JOB_STATE_QUEUED";
  j.base_model = "11";
  j.output_dir = "/o";
  j.create_time = j.update_time = time_now_rfc3339();
  s->job_insert(j);
  j.state = "JOB_STATE_PENDING";
  EXPECT_TRUE(s->job_update(j, "JOB_STATE_QUEUED"));
  j.state = "JOB_STATE_RUNNING";
  EXPECT_FALSE(s->job_update(j, "JOB_STATE_QUEUED"));  // someone else moved it
  EXPECT_EQ(s->job_get("5")->state, "JOB_STATE_PENDING");
  MetricPoint p{"5", 3, time_now_rfc3339(), 1.0, 2.5, 0.5, 1e-3, 100, std::nullopt, std::nullopt};
  s->metric_put(p);
  p.loss = 2.0;
  p.val_loss = 1.5;
  s->metric_put(p);  // the same step again replaces it
  auto ms = s->metrics("5");
  ASSERT_EQ(ms.size(), 1u);
  EXPECT_EQ(ms[0].loss, 2.0);
  EXPECT_EQ(*ms[0].val_loss, 1.5);
  int64_t e1 = s->event_append("5", "info", "one");
  s->event_append("5", "info", "two");
  EXPECT_EQ(s->events("5").size(), 2u);
  EXPECT_EQ(s->events("5", e1).at(0).message, "two");
  EXPECT_THROW(s->event_append("nope", "info", "x"), Error);  // foreign keys are on
}

TEST(Store, NamedMetricsOfAStepRoundTrip) {
  TempDir d;
  auto s = store_open(d.path);
  JobRecord j;
  j.id = "7";
  j.api = "cli";
  j.state = "JOB_STATE_RUNNING";
  j.base_model = "11";
  j.output_dir = "/o";
  j.create_time = j.update_time = time_now_rfc3339();
  s->job_insert(j);
  MetricPoint p{"7", 1, time_now_rfc3339(), 0.5, 0.69, 0.5, 1e-3, 100, std::nullopt, std::nullopt};
  p.metrics = {{"rewards/chosen", 0.25}, {"rewards/margins", -0.125}};
  s->metric_put(p);
  p.step = 2;
  p.val_loss = 0.6;
  p.val_metrics = {{"rewards/accuracies", 0.75}};
  s->metric_put(p);
  const auto ms = s->metrics("7");
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_EQ(ms[0].metrics, p.metrics);
  EXPECT_TRUE(ms[0].val_metrics.empty());
  EXPECT_EQ(ms[1].metrics.at("rewards/margins"), -0.125);
  EXPECT_EQ(ms[1].val_metrics, p.val_metrics);
}

TEST(Store, AJobRegistersItsCheckpointsAsVersionsOfOneModel) {
  TempDir d;
  auto s = store_open(d.path);
  JobRecord j;
  j.id = "8";
  j.api = "cli";
  j.state = "JOB_STATE_RUNNING";
  j.base_model = "11";
  j.output_dir = "/o";
  j.create_time = j.update_time = time_now_rfc3339();
  s->job_insert(j);
  ModelRecord tuned = model("44", 1, "tuned");
  std::vector<ModelRecord> versions;
  for (int step : {2, 4}) {
    ModelRecord v = model("44", static_cast<int>(versions.size()) + 2, "tuned");
    v.aliases = {"checkpoint-" + std::to_string(step)};
    versions.push_back(v);
  }
  ModelRecord stray = model("45", 2, "tuned");  // another model's id: refused, nothing written
  j.state = "JOB_STATE_SUCCEEDED";
  std::vector<ModelRecord> bad = versions;
  bad.push_back(stray);
  EXPECT_THROW(s->job_update_with_model(j, "JOB_STATE_RUNNING", tuned, bad), Error);
  EXPECT_FALSE(s->model_get("44").has_value());
  EXPECT_EQ(s->job_get("8")->state, "JOB_STATE_RUNNING");
  ASSERT_TRUE(s->job_update_with_model(j, "JOB_STATE_RUNNING", tuned, versions));
  EXPECT_EQ(s->model_get("44")->version_id, 1);  // the exported adapter stays the default
  ASSERT_EQ(s->model_versions("44").size(), 3u);
  EXPECT_EQ(s->model_list().size(), 1u);
  EXPECT_EQ(model_resolve(*s, "44@checkpoint-4", "m").version_id, 3);
  EXPECT_EQ(model_resolve(*s, "tuned@checkpoint-2", "m").version_id, 2);
  EXPECT_EQ(s->model_get("44", 2)->aliases, std::vector<std::string>{"checkpoint-2"});
  EXPECT_THROW(model_resolve(*s, "44@checkpoint-6", "m"), Error);
  // A version whose adapter directory is gone is refused by name.
  ModelRecord gone = *s->model_get("44", 3);
  gone.kind = "tuned";
  gone.artifact_path = d.path + "/no-such-checkpoint";
  gone.lineage["checkpoint"] = {{"checkpointId", "4"}};
  try {
    model_artifact_check(gone, "--model");
    ADD_FAILURE() << "a missing checkpoint directory was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no longer on disk"), std::string::npos) << e.what();
  }
}

TEST(Store, ImportingTheSameFilesTwiceGivesTheSameModel) {
  TempDir d;
  auto s = store_open(d.path + "/data");
  const std::string src = d.path + "/ckpt";
  fs::create_directories(src);
  write(src + "/config.json", R"({"model_type": "llama", "architectures": ["LlamaForCausalLM"]})");
  write(src + "/tokenizer_config.json", R"({"chat_template": "{{ messages }}"})");
  write(src + "/model.safetensors", "weights");
  ModelImportRequest req{src, "", "", "", {{"k", "v"}}};
  auto a = model_import(*s, req);
  auto b = model_import(*s, req);
  EXPECT_TRUE(a.created);
  EXPECT_FALSE(b.created);
  EXPECT_EQ(a.model.id, b.model.id);
  EXPECT_EQ(a.model.architecture, "llama");
  EXPECT_EQ(a.model.chat_template, "{{ messages }}");
  ASSERT_EQ(a.model.files.size(), 3u);
  // sha256("weights"), computed independently with coreutils' sha256sum.
  EXPECT_EQ(a.model.files[1].path, "model.safetensors");
  EXPECT_EQ(a.model.files[1].sha256, "9a129038d9a00aed0cf6a7ea059ca50a813449061ab87848cf1a13eafdf33b2c");
  EXPECT_TRUE(fs::exists(a.model.artifact_path + "/model.safetensors"));
  write(src + "/model.safetensors", "other weights");
  EXPECT_NE(model_import(*s, req).model.id, a.model.id);
  EXPECT_THROW(model_import(*s, {d.path + "/missing", "", "", "", {}}), Error);
}

TEST(DataDir, PathsAreConfinedToTheRoots) {
  TempDir d;
  const std::string root = d.path + "/root", buckets = d.path + "/buckets";
  fs::create_directories(root + "/sub");
  fs::create_directories(buckets + "/b");
  write(root + "/sub/ok.jsonl", "{}");
  write(buckets + "/b/t.jsonl", "{}");
  fs::create_symlink("/etc", root + "/escape");
  std::vector<std::string> roots = {root, buckets};
  EXPECT_EQ(path_confine(root + "/sub/ok.jsonl", buckets, roots, "f"), fs::canonical(root + "/sub/ok.jsonl").string());
  EXPECT_EQ(path_confine("gs://b/t.jsonl", buckets, roots, "f"), fs::canonical(buckets + "/b/t.jsonl").string());
  EXPECT_NO_THROW(path_confine("file://" + root + "/sub/new.jsonl", buckets, roots, "f"));
  EXPECT_THROW(path_confine("/etc/passwd", buckets, roots, "f"), Error);
  EXPECT_THROW(path_confine(root + "/escape/passwd", buckets, roots, "f"), Error);
  EXPECT_THROW(path_confine(root + "/sub/../../x", buckets, roots, "f"), Error);
  EXPECT_THROW(path_confine("gs://b/../../etc/passwd", buckets, roots, "f"), Error);
  EXPECT_THROW(path_confine(d.path + "/rootless", buckets, roots, "f"), Error);  // a sibling sharing a prefix
}

}  // namespace
}  // namespace loam
