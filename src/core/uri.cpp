#include "core/uri.h"

#include <cstdlib>

#include "core/error.h"

namespace loam {

std::string loam_home() {
  if (const char* h = std::getenv("LOAM_HOME"); h && *h) return h;
  const char* user_home = std::getenv("HOME");
  return std::string(user_home && *user_home ? user_home : ".") + "/.loam";
}

std::string data_dir_default() {
  if (const char* d = std::getenv("LOAM_DATA_DIR"); d && *d) return d;
  return loam_home();
}

std::string bucket_root_default() {
  if (const char* r = std::getenv("LOAM_BUCKET_ROOT"); r && *r) return r;
  return loam_home() + "/buckets";
}

std::string uri_resolve(const std::string& uri, const std::string& bucket_root) {
  if (uri.rfind("file://", 0) == 0) {
    std::string rest = uri.substr(7);
    if (rest.rfind("localhost/", 0) == 0) rest = rest.substr(9);
    if (rest.empty() || rest[0] != '/')
      throw Error(uri, "a file:// URI needs an absolute path", "write file:///abs/path");
    return rest;
  }
  if (uri.rfind("gs://", 0) == 0) {
    std::string rest = uri.substr(5);
    size_t slash = rest.find('/');
    std::string bucket = rest.substr(0, slash);
    if (bucket.empty()) throw Error(uri, "missing bucket name", "write gs://BUCKET/path");
    // No segment may climb out of the bucket root.
    size_t i = 0;
    while (i <= rest.size()) {
      size_t j = rest.find('/', i);
      if (j == std::string::npos) j = rest.size();
      if (rest.compare(i, j - i, "..") == 0) throw Error(uri, "'..' is not allowed in a gs:// path");
      i = j + 1;
    }
    std::string root = bucket_root.empty() ? bucket_root_default() : bucket_root;
    while (root.size() > 1 && root.back() == '/') root.pop_back();
    return root + "/" + rest;
  }
  size_t colon = uri.find("://");
  if (colon != std::string::npos)
    throw Error(uri, "unsupported URI scheme \"" + uri.substr(0, colon) + "\"",
                "use a local path, file:///path or gs://bucket/path");
  return uri;
}

}  // namespace loam
