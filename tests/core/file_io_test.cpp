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

}  // namespace
}  // namespace loam
