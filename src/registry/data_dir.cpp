#include "registry/data_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/uri.h"
#include "registry/errors.h"

namespace loam {

namespace fs = std::filesystem;

std::string data_dir_resolve(const std::string& flag) {
  const std::string d = flag.empty() ? data_dir_default() : flag;
  std::error_code ec;
  fs::path abs = fs::absolute(d, ec);
  return ec ? d : abs.lexically_normal().string();
}

std::string bucket_root_for(const std::string& data_dir) {
  if (const char* e = std::getenv("LOAM_BUCKET_ROOT"); e && *e) return e;
  return data_dir + "/buckets";
}

namespace {

// The real path of p, or of its nearest existing ancestor with the rest appended.
fs::path real_path_of(const fs::path& p) {
  std::error_code ec;
  fs::path probe = p, rest;
  while (!probe.empty() && !fs::exists(probe, ec)) {
    rest = probe.filename() / rest;
    probe = probe.parent_path();
  }
  fs::path real = fs::canonical(probe.empty() ? fs::path("/") : probe, ec);
  if (ec) return p;
  return rest.empty() ? real : (real / rest).lexically_normal();
}

bool is_under(const fs::path& p, const fs::path& root) {
  auto r = root.begin(), q = p.begin();
  for (; r != root.end(); ++r, ++q) {
    if (r->empty()) continue;  // trailing separator
    if (q == p.end() || *q != *r) return false;
  }
  return true;
}

}  // namespace

std::string path_confine(const std::string& location, const std::string& bucket_root,
                         const std::vector<std::string>& roots, const std::string& field) {
  if (location.empty()) throw error_invalid(field, "is empty");
  std::string local;
  try {
    local = uri_resolve(location, bucket_root);
  } catch (const Error& e) {
    throw error_invalid(field, e.message());
  }
  for (const auto& seg : fs::path(local))
    if (seg == "..") throw error_invalid(field, "'..' is not allowed in paths: " + location);
  fs::path p = fs::absolute(local).lexically_normal();
  fs::path real = real_path_of(p);
  for (const auto& r : roots) {
    fs::path root = real_path_of(fs::absolute(r).lexically_normal());
    if (is_under(real, root)) return real.string();
  }
  throw error_denied(field, location + " is outside the data directory, the bucket root and the --allow-path roots");
}

void dir_make_all(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) throw Error(path, "cannot create directory: " + ec.message());
}

void dir_remove_all(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
}

void file_link_or_copy(const std::string& from, const std::string& to) {
  if (link(from.c_str(), to.c_str()) == 0) return;
  std::error_code ec;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) throw Error(from, "cannot copy to " + to + ": " + ec.message());
}

}  // namespace loam
