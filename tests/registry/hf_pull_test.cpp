// `loam models pull` against a loopback hub of our own (hf_hub_server.py, the
// hub's URL layout and listing shape): selection of files, byte-exact copies,
// resume after a dropped connection and after an interrupted run, checksum
// refusal, 404/401 errors, HF_TOKEN and HF_ENDPOINT.
#include "registry/hf_pull.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace loam {
namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_all(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << s;
}

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// A fresh temporary directory, removed at the end.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "loam-hfpull-XXXXXX").string();
    path = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// The repository the server publishes as acme/tiny.
void make_repo(const fs::path& root) {
  const fs::path r = root / "acme" / "tiny";
  write_all(r / "config.json", R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 64})");
  write_all(r / "generation_config.json", R"({"eos_token_id": 2})");
  write_all(r / "tokenizer.json", R"({"model": {"type": "BPE"}})");
  write_all(r / "tokenizer_config.json", R"({"chat_template": "{{ messages }}"})");
  write_all(r / "README.md", "# tiny\n");
  write_all(r / "model.safetensors.index.json",
            R"({"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors",
                "b": "model-00002-of-00002.safetensors", "c": "model-00001-of-00002.safetensors"}})");
  write_all(r / "model-00001-of-00002.safetensors", random_bytes(3 << 20, 1));
  write_all(r / "model-00002-of-00002.safetensors", random_bytes(300000, 2));
  // Not fetched: other weight formats, a non-indexed copy, subfolders.
  write_all(r / "pytorch_model.bin", random_bytes(1000, 3));
  write_all(r / "consolidated.safetensors", random_bytes(1000, 4));
  write_all(r / "original" / "params.json", "{}");
}

const char* kWanted[] = {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                         "README.md", "model.safetensors.index.json", "model-00001-of-00002.safetensors",
                         "model-00002-of-00002.safetensors"};

// Runs hf_hub_server.py on a port the OS picks; stops it on destruction.
class HubServer {
 public:
  HubServer(const fs::path& root, const fs::path& dir, std::vector<std::string> extra = {}) {
    port_file_ = dir / "port";
    log_ = dir / "requests.log";
    std::vector<std::string> args = {"python3", std::string(LOAM_SOURCE_DIR) + "/tests/registry/hf_hub_server.py",
                                     "--root", root.string(), "--port-file", port_file_.string(), "--log",
                                     log_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp(argv[0], argv.data());
      _exit(127);
    }
    for (int i = 0; i < 200 && !fs::exists(port_file_); i++) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (fs::exists(port_file_)) endpoint_ = "http://127.0.0.1:" + read_all(port_file_);
  }
  ~HubServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  const std::string& endpoint() const { return endpoint_; }
  std::string log() const { return read_all(log_); }

 private:
  pid_t pid_ = -1;
  fs::path port_file_, log_;
  std::string endpoint_;
};

struct PullCase {
  TempDir tmp;
  fs::path root = tmp.path / "hub";
  fs::path target = tmp.path / "out";
  PullCase() { make_repo(root); }
  HfPullRequest request(const HubServer& s) const {
    HfPullRequest r;
    r.repo_id = "acme/tiny";
    r.target_dir = target.string();
    r.endpoint = s.endpoint();
    return r;
  }
  std::string source(const std::string& name) const { return read_all(root / "acme" / "tiny" / name); }
};

template <class Fn>
HfPullError catch_pull(Fn&& fn) {
  try {
    fn();
  } catch (const HfPullError& e) {
    return e;
  }
  ADD_FAILURE() << "expected HfPullError";
  return HfPullError(HfPullErrorKind::Io, "", "no error");
}

TEST(HfPull, Sha256OfKnownVector) {
  TempDir tmp;
  write_all(tmp.path / "abc", "abc");
  EXPECT_EQ(sha256_file_hex((tmp.path / "abc").string()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");  // FIPS 180-2 example
}

TEST(HfPull, FetchesTheModelFilesByteForByte) {
  PullCase c;
  HubServer server(c.root, c.tmp.path);
  ASSERT_FALSE(server.endpoint().empty()) << "the test hub did not start";
  std::vector<HfPullProgress> seen;
  const HfPullResult r = hf_pull(c.request(server), [&](const HfPullProgress& p) { seen.push_back(p); });

  EXPECT_EQ(r.dir, fs::absolute(c.target).lexically_normal().string());
  EXPECT_EQ(r.commit, "0123456789abcdef0123456789abcdef01234567");
  EXPECT_EQ(r.files.size(), std::size(kWanted));
  for (const char* name : kWanted) {
    ASSERT_TRUE(fs::exists(c.target / name)) << name;
    EXPECT_TRUE(read_all(c.target / name) == c.source(name)) << name << " differs from the hub's copy";
  }
  for (const char* name : {"pytorch_model.bin", "consolidated.safetensors", "original"})
    EXPECT_FALSE(fs::exists(c.target / name)) << name;
  for (const auto& e : fs::directory_iterator(c.target)) EXPECT_NE(e.path().extension(), ".part");
  int64_t total = 0;
  for (const HfPulledFile& f : r.files) {
    EXPECT_TRUE(f.downloaded);
    EXPECT_EQ(f.size, static_cast<int64_t>(c.source(f.name).size()));
    EXPECT_EQ(f.sha256, sha256_file_hex((c.root / "acme" / "tiny" / f.name).string()));
    total += f.size;
  }
  EXPECT_EQ(r.bytes_downloaded, total);
  // Progress: the shards were planned from the index; done never goes back
  // and ends at total; every file reports its end.
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().done, seen.back().total);
  EXPECT_EQ(seen.back().total, total);
  int finished = 0;
  for (size_t i = 1; i < seen.size(); i++)
    if (seen[i].total == seen[i - 1].total) EXPECT_GE(seen[i].done, seen[i - 1].done);
  for (const auto& p : seen) finished += p.file_finished;
  EXPECT_EQ(finished, static_cast<int>(std::size(kWanted)));
  // Small files come straight from resolve/<commit>/; LFS files via a redirect.
  EXPECT_NE(server.log().find("GET /acme/tiny/resolve/0123456789abcdef0123456789abcdef01234567/config.json"),
            std::string::npos);
  EXPECT_NE(server.log().find("GET /lfs/acme/tiny/model-00001-of-00002.safetensors"), std::string::npos);

  // A second pull verifies what is there and downloads nothing.
  const HfPullResult again = hf_pull(c.request(server), nullptr);
  EXPECT_EQ(again.bytes_downloaded, 0);
  for (const HfPulledFile& f : again.files) EXPECT_FALSE(f.downloaded) << f.name;
}

TEST(HfPull, ResumesAfterTheConnectionDropsHalfway) {
  PullCase c;
  const std::string shard = "model-00001-of-00002.safetensors";
  HubServer server(c.root, c.tmp.path, {"--drop", shard});
  ASSERT_FALSE(server.endpoint().empty());
  const HfPullResult r = hf_pull(c.request(server), nullptr);
  EXPECT_TRUE(read_all(c.target / shard) == c.source(shard));
  // The second request asked only for the rest: a Range from the half.
  const std::string half = std::to_string((3 << 20) / 2);
  EXPECT_NE(server.log().find("GET /lfs/acme/tiny/" + shard + " range=bytes=" + half + "-"), std::string::npos)
      << server.log();
  EXPECT_EQ(r.bytes_downloaded, [&] {
    int64_t n = 0;
    for (const HfPulledFile& f : r.files) n += f.size;
    return n;
  }());
}

TEST(HfPull, ResumesAPartialFileFromAnEarlierRun) {
  PullCase c;
  const std::string shard = "model-00002-of-00002.safetensors";
  write_all(c.target / (shard + ".part"), c.source(shard).substr(0, 100000));
  HubServer server(c.root, c.tmp.path);
  ASSERT_FALSE(server.endpoint().empty());
  hf_pull(c.request(server), nullptr);
  EXPECT_TRUE(read_all(c.target / shard) == c.source(shard));
  EXPECT_NE(server.log().find(shard + " range=bytes=100000-"), std::string::npos) << server.log();
  EXPECT_FALSE(fs::exists(c.target / (shard + ".part")));
}

TEST(HfPull, StartsOverWhenTheServerIgnoresTheRange) {
  PullCase c;
  const std::string shard = "model-00002-of-00002.safetensors";
  write_all(c.target / (shard + ".part"), c.source(shard).substr(0, 100000));
  HubServer server(c.root, c.tmp.path, {"--ignore-range", shard});
  ASSERT_FALSE(server.endpoint().empty());
  hf_pull(c.request(server), nullptr);
  EXPECT_NE(server.log().find(shard + " range=bytes=100000-"), std::string::npos) << server.log();
  EXPECT_TRUE(read_all(c.target / shard) == c.source(shard));  // not the prefix twice
}

TEST(HfPull, CancelKeepsThePartialFile) {
  PullCase c;
  HubServer server(c.root, c.tmp.path);
  ASSERT_FALSE(server.endpoint().empty());
  std::atomic<bool> stop{false};
  HfPullRequest req = c.request(server);
  req.cancel = &stop;
  const std::string shard = "model-00001-of-00002.safetensors";
  const HfPullError e = catch_pull([&] {
    hf_pull(req, [&](const HfPullProgress& p) {
      if (p.file == shard && p.file_done > 0) stop = true;
    });
  });
  EXPECT_EQ(e.pull_kind(), HfPullErrorKind::Cancelled);
  EXPECT_EQ(e.where(), shard);
  ASSERT_TRUE(fs::exists(c.target / (shard + ".part")));
  const auto kept = fs::file_size(c.target / (shard + ".part"));
  EXPECT_GT(kept, 0u);
  EXPECT_LT(kept, 3u << 20);
  EXPECT_FALSE(fs::exists(c.target / shard));
  // Pulling again resumes from what was kept.
  req.cancel = nullptr;
  hf_pull(req, nullptr);
  EXPECT_TRUE(read_all(c.target / shard) == c.source(shard));
  EXPECT_NE(server.log().find(shard + " range=bytes=" + std::to_string(kept) + "-"), std::string::npos) << server.log();
}

TEST(HfPull, RefusesAWrongChecksum) {
  PullCase c;
  const std::string shard = "model-00002-of-00002.safetensors";
  HubServer server(c.root, c.tmp.path, {"--wrong-sha", shard});
  ASSERT_FALSE(server.endpoint().empty());
  const HfPullError e = catch_pull([&] { hf_pull(c.request(server), nullptr); });
  EXPECT_EQ(e.pull_kind(), HfPullErrorKind::Checksum);
  EXPECT_EQ(e.kind(), ErrorKind::DataError);
  EXPECT_EQ(e.where(), shard);
  EXPECT_NE(std::string(e.what()).find("sha256 is "), std::string::npos) << e.what();
  EXPECT_FALSE(fs::exists(c.target / shard));
  EXPECT_FALSE(fs::exists(c.target / (shard + ".part")));
  EXPECT_TRUE(read_all(c.target / "config.json") == c.source("config.json"));  // earlier files stay
}

TEST(HfPull, NotFoundNamesTheRepositoryOrTheFile) {
  PullCase c;
  HubServer server(c.root, c.tmp.path, {"--missing", "tokenizer.json"});
  ASSERT_FALSE(server.endpoint().empty());
  HfPullRequest req = c.request(server);
  req.repo_id = "acme/absent";
  HfPullError e = catch_pull([&] { hf_pull(req, nullptr); });
  EXPECT_EQ(e.pull_kind(), HfPullErrorKind::NotFound);
  EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  EXPECT_NE(std::string(e.what()).find("repository acme/absent at revision main not found on " + server.endpoint()),
            std::string::npos)
      << e.what();
  e = catch_pull([&] { hf_pull(c.request(server), nullptr); });
  EXPECT_EQ(e.pull_kind(), HfPullErrorKind::NotFound);
  EXPECT_NE(std::string(e.what()).find("file tokenizer.json not found"), std::string::npos) << e.what();
  req.repo_id = "no-owner";
  EXPECT_EQ(catch_pull([&] { hf_pull(req, nullptr); }).pull_kind(), HfPullErrorKind::NotFound);
}

TEST(HfPull, TokenAndEndpointFromTheEnvironment) {
  PullCase c;
  HubServer server(c.root, c.tmp.path, {"--token", "s3cret"});
  ASSERT_FALSE(server.endpoint().empty());
  HfPullRequest req = c.request(server);
  unsetenv("HF_TOKEN");
  unsetenv("HUGGING_FACE_HUB_TOKEN");
  HfPullError e = catch_pull([&] { hf_pull(req, nullptr); });
  EXPECT_EQ(e.pull_kind(), HfPullErrorKind::Unauthorized);
  EXPECT_NE(std::string(e.what()).find("set HF_TOKEN"), std::string::npos) << e.what();
  EXPECT_NE(server.log().find("auth=no"), std::string::npos);

  req.token = "wrong";
  e = catch_pull([&] { hf_pull(req, nullptr); });
  EXPECT_EQ(e.pull_kind(), HfPullErrorKind::Unauthorized);
  EXPECT_NE(std::string(e.what()).find("not accepted"), std::string::npos) << e.what();

  // Both from the environment: HF_ENDPOINT (with a trailing slash) and HF_TOKEN.
  req.token.clear();
  req.endpoint.clear();
  setenv("HF_ENDPOINT", (server.endpoint() + "/").c_str(), 1);
  setenv("HF_TOKEN", "s3cret", 1);
  EXPECT_EQ(hf_endpoint(req), server.endpoint());
  const HfPullResult r = hf_pull(req, nullptr);
  unsetenv("HF_ENDPOINT");
  unsetenv("HF_TOKEN");
  EXPECT_EQ(r.files.size(), std::size(kWanted));
  EXPECT_TRUE(read_all(c.target / "model-00001-of-00002.safetensors") == c.source("model-00001-of-00002.safetensors"));
}

TEST(HfPull, NetworkErrorWhenNothingListens) {
  TempDir tmp;
  HfPullRequest req;
  req.repo_id = "acme/tiny";
  req.target_dir = (tmp.path / "out").string();
  req.endpoint = "http://127.0.0.1:1";  // nothing listens on port 1
  req.max_retries = 1;
  const HfPullError e = catch_pull([&] { hf_pull(req, nullptr); });
  EXPECT_EQ(e.pull_kind(), HfPullErrorKind::Network);
  EXPECT_NE(std::string(e.what()).find("HF_ENDPOINT"), std::string::npos) << e.what();
}

TEST(HfPull, WantsOnlyTopLevelModelFiles) {
  for (const char* yes : {"config.json", "tokenizer.model", "merges.txt", "chat_template.jinja", "README.md"})
    EXPECT_TRUE(hf_pull_wants_file(yes)) << yes;
  for (const char* no : {"pytorch_model.bin", "original/params.json", "../x.json", ".gitattributes", "model.gguf"})
    EXPECT_FALSE(hf_pull_wants_file(no)) << no;
}

}  // namespace
}  // namespace loam
