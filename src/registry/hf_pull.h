// The core of `loam models pull HF_ID`: downloads a Hugging Face model
// repository's files over HTTP(S) (libcurl) into a local directory that
// model_load reads, with resume, size and checksum checks.
//
// What it fetches (top-level files only; subfolders such as original/ are
// skipped): every *.json (config.json, generation_config.json, tokenizer and
// template files, the safetensors index), tokenizer.model, *.txt, *.jinja,
// *.md; and the weights: the shards the index's weight_map names when
// model.safetensors.index.json exists, else model.safetensors, else every
// top-level *.safetensors. Never .bin/.pt/.gguf/.onnx/.h5 files.
//
// How (the hub's HTTP API, as huggingface_hub uses it):
//   GET {endpoint}/api/models/{id}/revision/{rev}?blobs=true
//       → {"sha": commit, "siblings": [{"rfilename", "size", "blobId",
//          "lfs": {"sha256", "size"}}]}
//   GET {endpoint}/{id}/resolve/{commit}/{file}   (redirects followed)
// Each file is written to "<dir>/<file>.part", resumed with a Range request
// from its current length after a dropped connection (up to max_retries
// times) or an interrupted earlier run, checked against the listed size and
// sha256 (LFS files) or git blob SHA-1 (small files), fsynced and renamed to
// "<dir>/<file>". A file already in place with the right size and checksum
// is not downloaded again. Requests carry "Authorization: Bearer <token>"
// when a token is set (only to the endpoint's host; redirects elsewhere get
// none). Revisions are pinned: files come from the commit the listing
// resolved, so a branch moving mid-pull cannot mix two commits.
//
// Errors: HfPullError (an Error; pull_kind() is the precise cause, kind() the
// core ErrorKind it maps to); its message names the repository or file:
//   NotFound      404: "repository X at revision R not found on E" / "file F ..."
//   Unauthorized  401/403, with a hint to set HF_TOKEN or accept the terms
//   Checksum      size or hash mismatch, naming the file and both values;
//                 the bad .part is removed so a retry starts clean
//   Network       connection or server trouble after the retries
//   Cancelled     *cancel became true (the .part stays, for resume)
//   Io            the target directory cannot be written
//
// Threads: hf_pull blocks; callbacks run on the calling thread. Any number of
// pulls may run at once into different directories.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"

namespace loam {

struct HfPullRequest {
  std::string repo_id;              // "HuggingFaceTB/SmolLM2-135M-Instruct"
  std::string revision = "main";    // branch, tag or commit
  std::string target_dir;           // created if absent; files land directly in it
  std::string endpoint;             // "" = env HF_ENDPOINT, else https://huggingface.co
  std::string token;                // "" = env HF_TOKEN, else HUGGING_FACE_HUB_TOKEN, else none
  int max_retries = 5;              // per file, after a dropped connection or a 5xx
  long connect_timeout_s = 30;      // per request
  long stall_timeout_s = 60;        // a transfer below 1 byte/s this long is dropped (and retried)
  const std::atomic<bool>* cancel = nullptr;  // set to stop (checked while transferring)
};

struct HfPullProgress {
  std::string file;                 // the file being transferred ("" before the first)
  int file_index = 0, n_files = 0;  // 1-based index among the files to fetch
  int64_t file_done = 0, file_total = 0;  // bytes of this file on disk / expected
  int64_t done = 0, total = 0;      // bytes of all files
  bool file_finished = false;       // this call reports a file verified and in place
};
// Called at each file's start and end and at most every 64 KiB in between.
using HfProgressFn = std::function<void(const HfPullProgress&)>;

struct HfPulledFile {
  std::string name;                 // relative: "model-00001-of-00002.safetensors"
  int64_t size = 0;
  std::string sha256;               // hex, of the bytes on disk
  bool downloaded = false;          // false: was already in place and verified
};

struct HfPullResult {
  std::string dir;                  // absolute path of the local directory
  std::string repo_id, revision;    // as requested
  std::string commit;               // the commit the hub resolved the revision to
  std::vector<HfPulledFile> files;  // in download order
  int64_t bytes_downloaded = 0;     // transferred over the network in this call
};

enum class HfPullErrorKind { NotFound, Unauthorized, Checksum, Network, Cancelled, Io };

// The core ErrorKind (Error::kind()) each pull failure carries, for
// boundaries that map any Error: NotFound → NotFound, Unauthorized →
// PermissionDenied, Checksum → DataError, Network → Unavailable, Cancelled →
// Cancelled, Io → Internal.
ErrorKind hf_pull_error_kind(HfPullErrorKind k);

class HfPullError : public Error {
 public:
  HfPullError(HfPullErrorKind kind, std::string where, std::string message, std::string hint = "")
      : Error(hf_pull_error_kind(kind), std::move(where), std::move(message), std::move(hint)), pull_kind_(kind) {}
  HfPullErrorKind pull_kind() const { return pull_kind_; }

 private:
  HfPullErrorKind pull_kind_;
};

// Downloads the repository's files into req.target_dir (see the top of this
// file). `progress` may be empty. Throws HfPullError; on any error the
// completed files stay (verified) and the current one stays as .part.
HfPullResult hf_pull(const HfPullRequest& req, const HfProgressFn& progress);

// The endpoint and token hf_pull uses for `req` (request, then environment).
std::string hf_endpoint(const HfPullRequest& req);
std::string hf_token(const HfPullRequest& req);

// Whether hf_pull fetches a top-level repository file of this name, before
// the safetensors rule (exposed for tests and `--dry-run` listings).
bool hf_pull_wants_file(const std::string& name);

// Hex SHA-256 of a file's bytes; throws Error naming the file when unreadable.
std::string sha256_file_hex(const std::string& path);

}  // namespace loam
