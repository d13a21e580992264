// `loam serve`: the REST API over one data directory, with the job runner.
// Listens on 127.0.0.1 unless told otherwise (and warns when bound elsewhere
// without an API key); with an API key every route but /health needs
// "Authorization: Bearer KEY" or "x-goog-api-key: KEY" (compared in
// constant time). Runs until SIGINT or SIGTERM, then stops the runner
// (workers checkpoint; their jobs resume on the next start).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "serve/infer_engine.h"

namespace loam {

struct ServeConfig {
  std::string host = "127.0.0.1";          // --host
  int port = 8080;                         // --port; 0 = any free port (printed)
  std::string data_dir;                    // --data-dir (resolved)
  std::string api_key;                     // --api-key / LOAM_API_KEY; "" = no auth
  int max_concurrent_jobs = 1;             // --max-concurrent-jobs
  std::string mpi_hostfile;                // --mpi-hostfile: hosts of jobs with workerCount > 1 (mpirun's format)
  std::vector<std::string> allow_paths;    // --allow-path: more roots request paths may name
  size_t max_json_bytes = 8u << 20;        // JSON request bodies above this get 413
  size_t max_upload_bytes = 1u << 30;      // uploads (multipart) above this get 413
  int threads = 64;                        // connections served at once
  InferSettings infer;                     // the inference engine (serve/infer_engine.h)
};

int serve_run(const ServeConfig& cfg);  // blocks; returns the exit code

}  // namespace loam
