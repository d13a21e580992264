// `loam models pull`: the hub listing, then each file through libcurl into a
// .part file with Range resume, verified (OpenSSL's libcrypto for SHA-256 and
// git's blob SHA-1) and renamed into place. Contract in hf_pull.h.
#include "registry/hf_pull.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

namespace loam {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr int64_t kProgressStep = 64 << 10;
constexpr size_t kErrorBodyMax = 4096;
constexpr int64_t kListingMax = 64 << 20;

void curl_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* s) const { curl_slist_free_all(s); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

std::string escape(const std::string& s) {
  std::string out;
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string hex_of(const unsigned char* d, unsigned n) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < n; i++) {
    s += hex[d[i] >> 4];
    s += hex[d[i] & 15];
  }
  return s;
}

// SHA-256 of the file, and git's blob SHA-1 ("blob <size>\0" + bytes) when asked.
void hash_file(const std::string& path, std::string* sha256, std::string* git_sha1) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw HfPullError(HfPullErrorKind::Io, path, std::string("cannot read: ") + std::strerror(errno));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> c256(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> c1(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(c256.get(), EVP_sha256(), nullptr);
  if (git_sha1) {
    EVP_DigestInit_ex(c1.get(), EVP_sha1(), nullptr);
    const std::string header = "blob " + std::to_string(fs::file_size(path)) + std::string(1, '\0');
    EVP_DigestUpdate(c1.get(), header.data(), header.size());
  }
  std::vector<char> buf(1 << 20);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) {
    EVP_DigestUpdate(c256.get(), buf.data(), n);
    if (git_sha1) EVP_DigestUpdate(c1.get(), buf.data(), n);
  }
  const bool failed = std::ferror(f);
  std::fclose(f);
  if (failed) throw HfPullError(HfPullErrorKind::Io, path, "read error");
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(c256.get(), d, &len);
  *sha256 = hex_of(d, len);
  if (git_sha1) {
    EVP_DigestFinal_ex(c1.get(), d, &len);
    *git_sha1 = hex_of(d, len);
  }
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A repository file name that is safe to create directly in the target dir.
bool safe_top_level(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\\') == std::string::npos && name.find('\0') == std::string::npos;
}

struct RemoteFile {
  std::string name;
  int64_t size = -1;      // -1 when the listing gives none
  std::string sha256;     // LFS files
  std::string blob_id;    // git blob SHA-1 (small files)
};

// One HTTP client per pull: the endpoint, the token and the shared options.
class HubClient {
 public:
  HubClient(const HfPullRequest& req) : req_(req), endpoint_(hf_endpoint(req)), token_(hf_token(req)) {
    curl_init_once();
    if (!token_.empty()) headers_.reset(curl_slist_append(nullptr, ("Authorization: Bearer " + token_).c_str()));
  }

  const std::string& endpoint() const { return endpoint_; }

  CurlPtr handle(const std::string& url) const {
    CurlPtr c(curl_easy_init());
    if (!c) throw HfPullError(HfPullErrorKind::Network, url, "cannot create an HTTP handle");
    curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(c.get(), CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c.get(), CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c.get(), CURLOPT_UNRESTRICTED_AUTH, 0L);  // no token to redirected hosts
    curl_easy_setopt(c.get(), CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c.get(), CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c.get(), CURLOPT_CONNECTTIMEOUT, req_.connect_timeout_s);
    curl_easy_setopt(c.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c.get(), CURLOPT_LOW_SPEED_TIME, req_.stall_timeout_s);
    curl_easy_setopt(c.get(), CURLOPT_USERAGENT, "loam (models pull)");
    curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
    if (headers_) curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, headers_.get());
    return c;
  }

  [[noreturn]] void fail_status(long status, const std::string& what, const std::string& body) const {
    const std::string detail = body.empty() ? "" : ": " + body.substr(0, 300);
    if (status == 404)
      throw HfPullError(HfPullErrorKind::NotFound, req_.repo_id, what + " not found on " + endpoint_ + detail);
    if (status == 401)
      throw HfPullError(HfPullErrorKind::Unauthorized, req_.repo_id,
                        "the hub refused " + what + " (HTTP 401" + (token_.empty() ? ", no token sent" : "") + ")",
                        token_.empty() ? "a private or gated repository needs an access token: set HF_TOKEN "
                                         "(https://huggingface.co/settings/tokens); also check the id"
                                       : "HF_TOKEN was sent but not accepted: check that it is valid");
    if (status == 403)
      throw HfPullError(HfPullErrorKind::Unauthorized, req_.repo_id,
                        "access to " + what + " is forbidden (HTTP 403)",
                        "a gated model's terms must be accepted on https://huggingface.co/" + req_.repo_id +
                            " by the account whose token is in HF_TOKEN");
    throw HfPullError(HfPullErrorKind::Network, req_.repo_id,
                      what + ": HTTP " + std::to_string(status) + " from " + endpoint_ + detail);
  }

  void backoff(int attempt) const {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(5000, 100 << std::min(attempt, 6))));
  }

  bool cancelled() const { return req_.cancel && req_.cancel->load(); }

  const HfPullRequest& req() const { return req_; }

 private:
  const HfPullRequest& req_;
  std::string endpoint_, token_;
  SlistPtr headers_;
};

size_t append_body(char* p, size_t size, size_t n, void* ud) {
  auto* s = static_cast<std::string*>(ud);
  if (static_cast<int64_t>(s->size() + size * n) > kListingMax) return 0;
  s->append(p, size * n);
  return size * n;
}

bool retryable(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT: case CURLE_PARTIAL_FILE: case CURLE_RECV_ERROR: case CURLE_SEND_ERROR:
    case CURLE_OPERATION_TIMEDOUT: case CURLE_GOT_NOTHING: case CURLE_HTTP2: case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR: case CURLE_COULDNT_RESOLVE_HOST:
      return true;
    default:
      return false;
  }
}

// GET {endpoint}/api/models/{id}/revision/{rev}?blobs=true → commit + files.
std::vector<RemoteFile> list_files(const HubClient& hub, std::string* commit) {
  const HfPullRequest& req = hub.req();
  const std::string url = hub.endpoint() + "/api/models/" + req.repo_id + "/revision/" + escape(req.revision) +
                          "?blobs=true";
  const std::string what = "repository " + req.repo_id + " at revision " + req.revision;
  std::string body;
  long status = 0;
  for (int attempt = 0;; attempt++) {
    body.clear();
    CurlPtr c = hub.handle(url);
    curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &body);
    const CURLcode rc = curl_easy_perform(c.get());
    curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &status);
    const bool again = (rc != CURLE_OK && retryable(rc)) || (rc == CURLE_OK && (status >= 500 || status == 429));
    if (again && attempt < req.max_retries) {
      hub.backoff(attempt);
      continue;
    }
    if (rc != CURLE_OK)
      throw HfPullError(HfPullErrorKind::Network, url, std::string("listing failed: ") + curl_easy_strerror(rc),
                        "check HF_ENDPOINT (now " + hub.endpoint() + ") and the network");
    break;
  }
  if (status != 200) hub.fail_status(status, what, body);
  json doc;
  try {
    doc = json::parse(body);
  } catch (const json::exception& e) {
    throw HfPullError(HfPullErrorKind::Network, url, std::string("the listing is not JSON: ") + e.what());
  }
  if (!doc.is_object() || !doc.contains("siblings") || !doc["siblings"].is_array())
    throw HfPullError(HfPullErrorKind::Network, url, "the listing has no \"siblings\" array");
  *commit = doc.contains("sha") && doc["sha"].is_string() ? doc["sha"].get<std::string>() : "";
  std::vector<RemoteFile> files;
  for (const json& s : doc["siblings"]) {
    if (!s.is_object() || !s.contains("rfilename") || !s["rfilename"].is_string()) continue;
    RemoteFile f;
    f.name = s["rfilename"].get<std::string>();
    if (s.contains("size") && s["size"].is_number_integer()) f.size = s["size"].get<int64_t>();
    if (s.contains("blobId") && s["blobId"].is_string()) f.blob_id = s["blobId"].get<std::string>();
    if (s.contains("lfs") && s["lfs"].is_object()) {
      const json& lfs = s["lfs"];
      if (lfs.contains("sha256") && lfs["sha256"].is_string()) f.sha256 = lfs["sha256"].get<std::string>();
      if (lfs.contains("size") && lfs["size"].is_number_integer()) f.size = lfs["size"].get<int64_t>();
    }
    files.push_back(std::move(f));
  }
  return files;
}

// State shared with libcurl's callbacks during one file transfer.
struct Transfer {
  CURL* curl = nullptr;
  std::FILE* out = nullptr;
  bool decided = false;      // the response code was seen
  long status = 0;
  int64_t on_disk = 0;       // bytes in the .part file
  int64_t received = 0;      // bytes over the network in this pull
  int io_errno = 0;
  std::string error_body;
  const HubClient* hub = nullptr;
  HfPullProgress* progress = nullptr;
  const HfProgressFn* on_progress = nullptr;
  int64_t done_before = 0;   // bytes of the files finished before this one
  int64_t last_report = 0;
};

void report(Transfer& t, bool force) {
  if (!*t.on_progress) return;
  if (!force && t.on_disk - t.last_report < kProgressStep) return;
  t.last_report = t.on_disk;
  t.progress->file_done = t.on_disk;
  t.progress->done = t.done_before + t.on_disk;
  (*t.on_progress)(*t.progress);
}

size_t write_part(char* p, size_t size, size_t n, void* ud) {
  Transfer& t = *static_cast<Transfer*>(ud);
  const size_t len = size * n;
  if (!t.decided) {
    t.decided = true;
    curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &t.status);
    if (t.status == 200 && t.on_disk > 0) {  // the server ignored the Range: start over
      if (ftruncate(fileno(t.out), 0) != 0 || std::fseek(t.out, 0, SEEK_SET) != 0) {
        t.io_errno = errno;
        return 0;
      }
      t.on_disk = 0;
    }
  }
  if (t.status != 200 && t.status != 206) {
    if (t.error_body.size() < kErrorBodyMax) t.error_body.append(p, std::min(len, kErrorBodyMax - t.error_body.size()));
    return len;
  }
  if (std::fwrite(p, 1, len, t.out) != len) {
    t.io_errno = errno ? errno : EIO;
    return 0;
  }
  t.on_disk += static_cast<int64_t>(len);
  t.received += static_cast<int64_t>(len);
  report(t, false);
  return len;
}

int on_xfer(void* ud, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Transfer*>(ud)->hub->cancelled() ? 1 : 0;
}

int64_t file_size_or(const std::string& path, int64_t fallback) {
  std::error_code ec;
  const auto n = fs::file_size(path, ec);
  return ec ? fallback : static_cast<int64_t>(n);
}

void fsync_path(const std::string& path, bool dir) {
  const int fd = ::open(path.c_str(), dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// Transfers `f` into part (resuming what is there) until it has f.size bytes.
void fetch_part(const HubClient& hub, const std::string& url, const RemoteFile& f, const std::string& part,
                Transfer& t) {
  const HfPullRequest& req = hub.req();
  std::string last_error;
  for (int attempt = 0; attempt <= req.max_retries; attempt++) {
    if (attempt > 0) hub.backoff(attempt - 1);
    int64_t have = file_size_or(part, 0);
    if (f.size >= 0 && have > f.size) {
      fs::resize_file(part, 0);
      have = 0;
    }
    if (f.size >= 0 && have == f.size) return;
    std::FILE* out = std::fopen(part.c_str(), "ab");
    if (!out) throw HfPullError(HfPullErrorKind::Io, part, std::string("cannot write: ") + std::strerror(errno));
    CurlPtr c = hub.handle(url);
    t.curl = c.get();
    t.out = out;
    t.decided = false;
    t.status = 0;
    t.on_disk = have;
    t.io_errno = 0;
    t.error_body.clear();
    curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, write_part);
    curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c.get(), CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c.get(), CURLOPT_XFERINFOFUNCTION, on_xfer);
    curl_easy_setopt(c.get(), CURLOPT_XFERINFODATA, &t);
    const std::string range = std::to_string(have) + "-";
    if (have > 0) curl_easy_setopt(c.get(), CURLOPT_RANGE, range.c_str());
    const CURLcode rc = curl_easy_perform(c.get());
    const bool flushed = std::fflush(out) == 0 && ::fsync(fileno(out)) == 0;
    std::fclose(out);
    if (!t.decided) curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &t.status);
    if (rc == CURLE_ABORTED_BY_CALLBACK && hub.cancelled())
      throw HfPullError(HfPullErrorKind::Cancelled, f.name, "pull cancelled (the partial file is kept for resume)");
    if (t.io_errno != 0 || !flushed)
      throw HfPullError(HfPullErrorKind::Io, part, std::string("write failed: ") + std::strerror(t.io_errno ? t.io_errno : errno));
    if (rc == CURLE_OK && t.status == 416) {  // nothing left to send from `have`
      if (f.size < 0 || file_size_or(part, 0) == f.size) return;
      fs::resize_file(part, 0);
      last_error = "HTTP 416 for a resumed request";
      continue;
    }
    if (rc == CURLE_OK && (t.status == 200 || t.status == 206)) {
      if (f.size < 0 || file_size_or(part, 0) >= f.size) return;
      last_error = "the server closed the response early";
      continue;
    }
    if (rc == CURLE_OK && (t.status >= 500 || t.status == 429)) {
      last_error = "HTTP " + std::to_string(t.status);
      continue;
    }
    if (rc == CURLE_OK) hub.fail_status(t.status, "file " + f.name, t.error_body);
    if (!retryable(rc))
      throw HfPullError(HfPullErrorKind::Network, url, std::string("download failed: ") + curl_easy_strerror(rc));
    last_error = curl_easy_strerror(rc);
  }
  throw HfPullError(HfPullErrorKind::Network, f.name,
                    "download failed after " + std::to_string(req.max_retries + 1) + " attempts: " + last_error,
                    "run the pull again: it resumes from the partial file");
}

// Size and checksum of a complete file against the listing; "" when it
// matches, else what is wrong. Sets *sha256.
std::string verify(const std::string& path, const RemoteFile& f, std::string* sha256) {
  const int64_t size = file_size_or(path, -1);
  if (f.size >= 0 && size != f.size)
    return "size is " + std::to_string(size) + " bytes, the hub lists " + std::to_string(f.size);
  const bool check_blob = f.sha256.empty() && f.blob_id.size() == 40;
  std::string git_sha1;
  hash_file(path, sha256, check_blob ? &git_sha1 : nullptr);
  if (!f.sha256.empty() && *sha256 != f.sha256) return "sha256 is " + *sha256 + ", the hub lists " + f.sha256;
  if (check_blob && git_sha1 != f.blob_id) return "git blob id is " + git_sha1 + ", the hub lists " + f.blob_id;
  return "";
}

// The shards the index names (unique, in first-seen order).
std::vector<std::string> index_shards(const std::string& path) {
  json doc;
  try {
    std::ifstream in(path);
    doc = json::parse(in);
  } catch (const json::exception& e) {
    throw HfPullError(HfPullErrorKind::Checksum, path, std::string("not valid JSON: ") + e.what());
  }
  if (!doc.is_object() || !doc.contains("weight_map") || !doc["weight_map"].is_object())
    throw HfPullError(HfPullErrorKind::Checksum, path, "no weight_map object");
  std::vector<std::string> shards;
  std::set<std::string> seen;
  for (const auto& [tensor, file] : doc["weight_map"].items()) {
    if (!file.is_string()) throw HfPullError(HfPullErrorKind::Checksum, path, "weight_map." + tensor + " is not a file name");
    const std::string name = file.get<std::string>();
    if (seen.insert(name).second) shards.push_back(name);
  }
  return shards;
}

}  // namespace

ErrorKind hf_pull_error_kind(HfPullErrorKind k) {
  switch (k) {
    case HfPullErrorKind::NotFound: return ErrorKind::NotFound;
    case HfPullErrorKind::Unauthorized: return ErrorKind::PermissionDenied;
    case HfPullErrorKind::Checksum: return ErrorKind::DataError;
    case HfPullErrorKind::Network: return ErrorKind::Unavailable;
    case HfPullErrorKind::Cancelled: return ErrorKind::Cancelled;
    case HfPullErrorKind::Io: return ErrorKind::Internal;
  }
  return ErrorKind::Internal;
}

std::string hf_endpoint(const HfPullRequest& req) {
  std::string e = !req.endpoint.empty() ? req.endpoint : env_or("HF_ENDPOINT", "https://huggingface.co");
  while (!e.empty() && e.back() == '/') e.pop_back();
  return e;
}

std::string hf_token(const HfPullRequest& req) {
  if (!req.token.empty()) return req.token;
  return env_or("HF_TOKEN", env_or("HUGGING_FACE_HUB_TOKEN", ""));
}

bool hf_pull_wants_file(const std::string& name) {
  if (!safe_top_level(name) || name[0] == '.') return false;
  return ends_with(name, ".json") || name == "tokenizer.model" || ends_with(name, ".txt") ||
         ends_with(name, ".jinja") || ends_with(name, ".md");
}

std::string sha256_file_hex(const std::string& path) {
  std::string sha;
  hash_file(path, &sha, nullptr);
  return sha;
}

HfPullResult hf_pull(const HfPullRequest& req, const HfProgressFn& progress) {
  if (std::count(req.repo_id.begin(), req.repo_id.end(), '/') != 1 || req.repo_id.front() == '/' ||
      req.repo_id.back() == '/' || req.repo_id.find("..") != std::string::npos)
    throw HfPullError(HfPullErrorKind::NotFound, req.repo_id.empty() ? "models pull" : req.repo_id,
                      "expected a Hugging Face id \"owner/name\"");
  if (req.target_dir.empty()) throw HfPullError(HfPullErrorKind::Io, req.repo_id, "no target directory given");
  HubClient hub(req);
  HfPullResult result;
  result.repo_id = req.repo_id;
  result.revision = req.revision;
  std::error_code ec;
  fs::create_directories(req.target_dir, ec);
  if (ec) throw HfPullError(HfPullErrorKind::Io, req.target_dir, "cannot create the directory: " + ec.message());
  result.dir = fs::absolute(req.target_dir).lexically_normal().string();

  const std::vector<RemoteFile> listed = list_files(hub, &result.commit);
  const std::string pinned = result.commit.size() == 40 ? result.commit : req.revision;
  std::map<std::string, const RemoteFile*> by_name;
  for (const RemoteFile& f : listed) by_name[f.name] = &f;

  // Plan: small files first (the index among them, fetched before planning
  // the shards), then the weights.
  std::vector<const RemoteFile*> plan;
  for (const RemoteFile& f : listed)
    if (hf_pull_wants_file(f.name)) plan.push_back(&f);
  std::sort(plan.begin(), plan.end(), [](const RemoteFile* a, const RemoteFile* b) { return a->name < b->name; });

  Transfer t;
  t.hub = &hub;
  HfPullProgress prog;
  t.progress = &prog;
  t.on_progress = &progress;

  // Downloads one file into place unless it is there already; returns its record.
  auto fetch = [&](const RemoteFile& f, int64_t done_before) {
    const std::string final_path = result.dir + "/" + f.name;
    const std::string part = final_path + ".part";
    const std::string url = hub.endpoint() + "/" + req.repo_id + "/resolve/" + escape(pinned) + "/" + escape(f.name);
    HfPulledFile rec;
    rec.name = f.name;
    prog.file = f.name;
    prog.file_total = f.size;
    prog.file_finished = false;
    t.done_before = done_before;
    t.last_report = 0;
    if (fs::exists(final_path) && verify(final_path, f, &rec.sha256).empty()) {
      rec.size = file_size_or(final_path, 0);
      t.on_disk = rec.size;
    } else {
      t.on_disk = file_size_or(part, 0);
      report(t, true);
      const int64_t before = t.received;
      fetch_part(hub, url, f, part, t);
      const std::string problem = verify(part, f, &rec.sha256);
      if (!problem.empty()) {
        fs::remove(part, ec);
        throw HfPullError(HfPullErrorKind::Checksum, f.name, "downloaded file does not match the hub's listing: " + problem,
                          "the partial file was removed; pull again, and if it repeats the repository or a proxy "
                          "serves different bytes");
      }
      fs::rename(part, final_path, ec);
      if (ec) throw HfPullError(HfPullErrorKind::Io, final_path, "cannot rename into place: " + ec.message());
      fsync_path(result.dir, true);
      rec.size = file_size_or(final_path, 0);
      rec.downloaded = true;
      result.bytes_downloaded += t.received - before;
      t.on_disk = rec.size;
    }
    prog.file_finished = true;
    report(t, true);
    result.files.push_back(rec);
    return rec;
  };

  const std::string index_name = "model.safetensors.index.json";
  std::vector<std::string> weights;
  if (by_name.count(index_name)) {
    auto it = std::find_if(plan.begin(), plan.end(), [&](const RemoteFile* f) { return f->name == index_name; });
    if (it != plan.end()) plan.erase(it);
    prog.n_files = 1;
    prog.file_index = 1;
    fetch(*by_name[index_name], 0);
    weights = index_shards(result.dir + "/" + index_name);
  } else if (by_name.count("model.safetensors")) {
    weights = {"model.safetensors"};
  } else {
    for (const RemoteFile& f : listed)
      if (safe_top_level(f.name) && ends_with(f.name, ".safetensors")) weights.push_back(f.name);
  }
  for (const std::string& w : weights) {
    if (!safe_top_level(w)) throw HfPullError(HfPullErrorKind::Checksum, index_name, "names an unsafe shard path \"" + w + "\"");
    if (!by_name.count(w))
      throw HfPullError(HfPullErrorKind::NotFound, req.repo_id, "the index names shard " + w + ", which the repository lacks");
    plan.push_back(by_name[w]);
  }
  if (weights.empty())
    throw HfPullError(HfPullErrorKind::NotFound, req.repo_id,
                      "no safetensors weights at revision " + req.revision + " (Loam reads safetensors, not .bin/.pt)");

  prog.n_files = static_cast<int>(plan.size()) + (result.files.empty() ? 0 : 1);
  prog.total = 0;
  for (const HfPulledFile& r : result.files) prog.total += r.size;
  for (const RemoteFile* f : plan) prog.total += std::max<int64_t>(0, f->size);
  int64_t done = prog.total - [&] {
    int64_t rest = 0;
    for (const RemoteFile* f : plan) rest += std::max<int64_t>(0, f->size);
    return rest;
  }();
  for (const RemoteFile* f : plan) {
    prog.file_index = static_cast<int>(result.files.size()) + 1;
    const HfPulledFile rec = fetch(*f, done);
    done += rec.size;
  }
  return result;
}

}  // namespace loam
