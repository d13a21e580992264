#include "core/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace loam {

std::string file_read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int e = errno;
    throw Error(error_kind_from_errno(e), path, std::string("cannot open: ") + std::strerror(e));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(ErrorKind::Internal, path, "read failed");
  return ss.str();
}

void file_write_atomic(const std::string& path, std::string_view bytes) {
  file_write_atomic_with(path, [&](std::FILE* f) {
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size())
      throw Error(ErrorKind::Internal, path, std::string("write failed: ") + std::strerror(errno));
  });
}

void file_write_atomic_with(const std::string& path,
                           const std::function<void(std::FILE*)>& write) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) {
    const int e = errno;
    throw Error(error_kind_from_errno(e), path, std::string("cannot create temporary file: ") + std::strerror(e));
  }
  try {
    write(f);
    if (std::fflush(f) != 0 || ::fsync(fileno(f)) != 0)
      throw Error(ErrorKind::Internal, path, std::string("cannot flush: ") + std::strerror(errno));
  } catch (...) {
    std::fclose(f);
    std::remove(tmp.c_str());
    throw;
  }
  if (std::fclose(f) != 0) {
    std::remove(tmp.c_str());
    throw Error(ErrorKind::Internal, path, std::string("cannot close: ") + std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    std::remove(tmp.c_str());
    throw Error(error_kind_from_errno(e), path, std::string("cannot rename into place: ") + std::strerror(e));
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

namespace {

struct FileIdentity {
  bool exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
  std::string canonical;  // weakly canonical absolute path
};

FileIdentity file_identity(const std::string& path) {
  FileIdentity id;
  std::error_code ec;
  id.canonical = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec).string();
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    id.exists = true;
    id.dev = st.st_dev;
    id.ino = st.st_ino;
  }
  return id;
}

bool same_file(const FileIdentity& a, const FileIdentity& b) {
  if (a.exists && b.exists) return a.dev == b.dev && a.ino == b.ino;
  return a.canonical == b.canonical;
}

std::string describe(const NamedPath& p) { return p.role + " " + p.path; }

}  // namespace

void check_outputs_distinct(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs) {
  std::vector<FileIdentity> in_ids, out_ids;
  for (const NamedPath& p : inputs) in_ids.push_back(file_identity(p.path));
  for (const NamedPath& p : outputs) out_ids.push_back(file_identity(p.path));
  for (size_t o = 0; o < outputs.size(); o++) {
    for (size_t i = 0; i < inputs.size(); i++) {
      if (same_file(out_ids[o], in_ids[i]))
        throw Error(describe(outputs[o]), "is the same file as the input (" + describe(inputs[i]) + ")",
                    "write the output somewhere else: the input would be destroyed");
    }
    for (size_t k = 0; k < o; k++)
      if (same_file(out_ids[o], out_ids[k]))
        throw Error(describe(outputs[o]), "is the same file as the output " + describe(outputs[k]),
                    "give each output its own path");
  }
}

FileStage::~FileStage() {
  for (const auto& [tmp, path] : files_) std::remove(tmp.c_str());
}

std::string FileStage::temp_for(const std::string& path) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  files_.emplace_back(tmp, path);
  return tmp;
}

void FileStage::commit() {
  std::vector<std::string> dirs;
  for (const auto& [tmp, path] : files_) {
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
      throw Error(path, std::string("cannot rename into place: ") + std::strerror(errno));
    std::string dir = std::filesystem::path(path).parent_path().string();
    dirs.push_back(dir.empty() ? "." : dir);
  }
  files_.clear();
  for (const std::string& dir : dirs) {
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool dir_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace loam
