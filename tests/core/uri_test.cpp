// gs:// and file:// resolution, and where Loam keeps its files.
#include "core/uri.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace loam {
namespace {

// Sets environment variables for one test and restores them after.
class EnvGuard {
 public:
  explicit EnvGuard(std::initializer_list<const char*> names) {
    for (const char* n : names) {
      const char* v = std::getenv(n);
      saved_.push_back({n, v ? std::optional<std::string>(v) : std::nullopt});
    }
  }
  ~EnvGuard() {
    for (const auto& [n, v] : saved_)
      if (v) ::setenv(n.c_str(), v->c_str(), 1);
      else ::unsetenv(n.c_str());
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST(Uri, LocalFileAndBuckets) {
  EXPECT_EQ(uri_resolve("data/train.jsonl"), "data/train.jsonl");
  EXPECT_EQ(uri_resolve("file:///tmp/x.jsonl"), "/tmp/x.jsonl");
  EXPECT_EQ(uri_resolve("file://localhost/tmp/x.jsonl"), "/tmp/x.jsonl");
  EXPECT_EQ(uri_resolve("gs://my-bucket/tuning/train.jsonl", "/srv/buckets/"),
            "/srv/buckets/my-bucket/tuning/train.jsonl");
  EXPECT_THROW(uri_resolve("gs://b/../../etc/passwd", "/srv"), Error);
  EXPECT_THROW(uri_resolve("gs:///x", "/srv"), Error);
  EXPECT_THROW(uri_resolve("s3://b/x"), Error);
  EXPECT_THROW(uri_resolve("file://relative"), Error);
}

TEST(Uri, BucketRootFromEnvironment) {
  EnvGuard env({"LOAM_BUCKET_ROOT", "LOAM_HOME"});
  ::setenv("LOAM_BUCKET_ROOT", "/env/root", 1);
  EXPECT_EQ(uri_resolve("gs://b/p"), "/env/root/b/p");
  EXPECT_EQ(uri_resolve("gs://b/p", "/flag"), "/flag/b/p");
  ::unsetenv("LOAM_BUCKET_ROOT");
  ::setenv("LOAM_HOME", "/home/x/.loam", 1);
  EXPECT_EQ(uri_resolve("gs://b/p"), "/home/x/.loam/buckets/b/p");
}

TEST(Paths, LoamHomeAndDataDir) {
  EnvGuard env({"LOAM_HOME", "LOAM_DATA_DIR", "HOME"});
  ::unsetenv("LOAM_HOME");
  ::unsetenv("LOAM_DATA_DIR");
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(loam_home(), "/home/u/.loam");
  EXPECT_EQ(data_dir_default(), "/home/u/.loam");
  ::setenv("LOAM_HOME", "/srv/loam", 1);
  EXPECT_EQ(loam_home(), "/srv/loam");
  EXPECT_EQ(data_dir_default(), "/srv/loam");
  ::setenv("LOAM_DATA_DIR", "/data/loam", 1);
  EXPECT_EQ(data_dir_default(), "/data/loam");
  EXPECT_EQ(loam_home(), "/srv/loam");
  EXPECT_EQ(bucket_root_default(), "/srv/loam/buckets");
}

}  // namespace
}  // namespace loam
