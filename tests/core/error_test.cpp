#include "core/error.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

#include "core/file_io.h"
#include "core/json_file.h"

namespace loam {
namespace {

TEST(Error, KindlessConstructorMeansInvalidArgument) {
  Error e("--lr", "must be positive", "try 1e-4");
  EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
  EXPECT_EQ(e.where(), "--lr");
  EXPECT_EQ(e.message(), "must be positive");
  EXPECT_EQ(e.hint(), "try 1e-4");
  EXPECT_STREQ(e.what(), "--lr: must be positive (hint: try 1e-4)");
}

TEST(Error, KindIsKeptAndDoesNotChangeTheText) {
  Error e(ErrorKind::DataError, "train.jsonl:3", "invalid JSON");
  EXPECT_EQ(e.kind(), ErrorKind::DataError);
  EXPECT_STREQ(e.what(), "train.jsonl:3: invalid JSON");
}

TEST(Error, KindNames) {
  EXPECT_STREQ(error_kind_name(ErrorKind::InvalidArgument), "INVALID_ARGUMENT");
  EXPECT_STREQ(error_kind_name(ErrorKind::NotFound), "NOT_FOUND");
  EXPECT_STREQ(error_kind_name(ErrorKind::AlreadyExists), "ALREADY_EXISTS");
  EXPECT_STREQ(error_kind_name(ErrorKind::FailedPrecondition), "FAILED_PRECONDITION");
  EXPECT_STREQ(error_kind_name(ErrorKind::DataError), "DATA_ERROR");
  EXPECT_STREQ(error_kind_name(ErrorKind::PermissionDenied), "PERMISSION_DENIED");
  EXPECT_STREQ(error_kind_name(ErrorKind::ResourceExhausted), "RESOURCE_EXHAUSTED");
  EXPECT_STREQ(error_kind_name(ErrorKind::Cancelled), "CANCELLED");
  EXPECT_STREQ(error_kind_name(ErrorKind::Unavailable), "UNAVAILABLE");
  EXPECT_STREQ(error_kind_name(ErrorKind::Internal), "INTERNAL");
}

TEST(Error, KindFromErrno) {
  EXPECT_EQ(error_kind_from_errno(ENOENT), ErrorKind::NotFound);
  EXPECT_EQ(error_kind_from_errno(EACCES), ErrorKind::PermissionDenied);
  EXPECT_EQ(error_kind_from_errno(ENOSPC), ErrorKind::ResourceExhausted);
  EXPECT_EQ(error_kind_from_errno(EIO), ErrorKind::Internal);
}

TEST(Error, MissingFileIsNotFound) {
  try {
    file_read_all("/nonexistent/loam-error-test/file.txt");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
    EXPECT_EQ(e.where(), "/nonexistent/loam-error-test/file.txt");
  }
}

TEST(Error, MalformedJsonIsDataError) {
  const std::string path = ::testing::TempDir() + "/loam_error_test_bad.json";
  file_write_atomic(path, "{ not json");
  try {
    json_read_file(path);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::DataError);
  }
}

}  // namespace
}  // namespace loam
