#include "core/file_io.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "core/mapped_file.h"

namespace loam {
namespace {

std::string temp_dir() {
  auto d = std::filesystem::temp_directory_path() / ("loam_core_" + std::to_string(::getpid()));
  std::filesystem::create_directories(d);
  return d.string();
}

TEST(FileIo, AtomicWriteReplacesWholeFile) {
  std::string p = temp_dir() + "/a.txt";
  file_write_atomic(p, "first version");
  file_write_atomic(p, "second");
  EXPECT_EQ(file_read_all(p), "second");
  for (auto& e : std::filesystem::directory_iterator(temp_dir()))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos);
}

TEST(FileIo, FailedWriteLeavesOldFileAndNoTemp) {
  std::string p = temp_dir() + "/b.txt";
  file_write_atomic(p, "keep me");
  EXPECT_THROW(file_write_atomic_with(p, [](std::FILE*) { throw Error("x", "boom"); }), Error);
  EXPECT_EQ(file_read_all(p), "keep me");
}

TEST(MappedFile, MissingFileNamesPath) {
  try {
    MappedFile::open("/nonexistent/loam.bin");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/loam.bin"), std::string::npos);
  }
}

TEST(MappedFile, MapsContents) {
  std::string p = temp_dir() + "/c.bin";
  file_write_atomic(p, "hello");
  auto m = MappedFile::open(p);
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m.data()), 5), "hello");
}


// The message of the Error `f` throws ("" when it throws none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(OutputsDistinct, RefusesAnOutputThatIsAnInput) {
  namespace fs = std::filesystem;
  const std::string d = temp_dir() + "/distinct";
  fs::remove_all(d);
  fs::create_directories(d + "/sub");
  file_write_atomic(d + "/in.jsonl", "x");
  fs::create_symlink(d + "/in.jsonl", d + "/link.jsonl");
  fs::create_hard_link(d + "/in.jsonl", d + "/hard.jsonl");
  const std::vector<NamedPath> in = {{"input", d + "/in.jsonl"}};
  for (const std::string& out : {d + "/in.jsonl", d + "/link.jsonl", d + "/hard.jsonl", d + "/sub/../in.jsonl"}) {
    const std::string msg = error_of([&] { check_outputs_distinct(in, {{"--train", out}}); });
    EXPECT_NE(msg.find("--train " + out + ": is the same file as the input (input " + d + "/in.jsonl)"),
              std::string::npos) << out << ": " << msg;
  }
  // An output path that does not exist yet, reached through a symlinked directory.
  fs::create_directory_symlink(d, d + "/sub/up");
  file_write_atomic(d + "/model.bin", "w");
  EXPECT_NE(error_of([&] { check_outputs_distinct({{"weights", d + "/sub/up/new.bin"}}, {{"--out", d + "/new.bin"}}); }), "");
  // Distinct files pass, existing or not.
  EXPECT_EQ(error_of([&] { check_outputs_distinct(in, {{"--train", d + "/t.jsonl"}, {"--validation", d + "/v.jsonl"}}); }), "");
  EXPECT_EQ(error_of([&] { check_outputs_distinct(in, {{"--out", d + "/model.bin"}}); }), "");
}

TEST(OutputsDistinct, RefusesTwoOutputsThatAreOneFile) {
  const std::string d = temp_dir();
  const std::string msg = error_of([&] {
    check_outputs_distinct({{"input", d + "/in.jsonl"}}, {{"--train", d + "/x.jsonl"}, {"--validation", d + "/./x.jsonl"}});
  });
  EXPECT_NE(msg.find("--validation " + d + "/./x.jsonl: is the same file as the output --train " + d + "/x.jsonl"),
            std::string::npos) << msg;
}

TEST(FileStage, CommitRenamesAllAndFailureKeepsOldFiles) {
  const std::string d = temp_dir();
  file_write_atomic(d + "/s1", "old1");
  file_write_atomic(d + "/s2", "old2");
  {
    FileStage stage;
    file_write_atomic(stage.temp_for(d + "/s1"), "new1");
    file_write_atomic(stage.temp_for(d + "/s2"), "new2");
    // destroyed without commit: as if the second write had thrown
  }
  EXPECT_EQ(file_read_all(d + "/s1"), "old1");
  EXPECT_EQ(file_read_all(d + "/s2"), "old2");
  for (auto& e : std::filesystem::directory_iterator(d))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  FileStage stage;
  file_write_atomic(stage.temp_for(d + "/s1"), "new1");
  file_write_atomic(stage.temp_for(d + "/s2"), "new2");
  stage.commit();
  EXPECT_EQ(file_read_all(d + "/s1"), "new1");
  EXPECT_EQ(file_read_all(d + "/s2"), "new2");
}

}  // namespace
}  // namespace loam
