// loam serve (the REST API and job runner) and the hidden job-worker
// subcommand the runner starts for each job.
#include <CLI/CLI.hpp>

#include <cstdlib>

#include "cli/commands.h"
#include "jobs/worker.h"
#include "registry/data_dir.h"
#include "serve/http_server.h"

namespace loam::cli {

void register_serve_commands(CLI::App& app) {
  static ServeConfig cfg;
  static std::string data_dir;
  auto* s = app.add_subcommand("serve", "Serve the REST API (tuning jobs, models, endpoints, inference) over a data directory");
  s->add_option("--host", cfg.host, "Address to bind (default 127.0.0.1)");
  s->add_option("--port", cfg.port, "Port (default 8080; 0 = any free port, printed)");
  s->add_option("--data-dir", data_dir, "Data directory (env LOAM_DATA_DIR, default $LOAM_HOME or ~/.loam)");
  s->add_option("--api-key", cfg.api_key, "Require this key on every route but /health (env LOAM_API_KEY)");
  s->add_option("--max-concurrent-jobs", cfg.max_concurrent_jobs, "Tuning jobs running at once")
      ->check(CLI::Range(1, 1024));
  s->add_option("--mpi-hostfile", cfg.mpi_hostfile,
                "Hosts for tuning jobs with workerCount > 1, run under mpirun (OpenMPI hostfile: \"host slots=N\" lines)")
      ->check(CLI::ExistingFile);
  s->add_option("--allow-path", cfg.allow_paths, "Another directory request paths may name (repeatable)");
  s->add_option("--max-batch", cfg.infer.max_batch, "Sequences decoded together per base model (default 16)")
      ->check(CLI::Range(1, 1024));
  s->add_option("--max-queue", cfg.infer.max_queue, "Requests waiting per base model before 429 (default 64)")
      ->check(CLI::Range(0, 100000));
  s->add_option("--max-loaded-adapters", cfg.infer.max_loaded_adapters, "Adapters kept in memory per base (LRU, default 8)")
      ->check(CLI::Range(1, 4096));
  s->add_option("--request-timeout", cfg.infer.timeout_s, "Seconds a generation may run before 503 (default 600)")
      ->check(CLI::Range(0.1, 86400.0));
  s->add_option("--infer-threads", cfg.infer.threads, "Kernel threads per base model (default: all cores)")
      ->check(CLI::Range(1, 1024));
  s->callback([] {
    cfg.data_dir = data_dir_resolve(data_dir);
    if (cfg.api_key.empty())
      if (const char* k = std::getenv("LOAM_API_KEY"); k && *k) cfg.api_key = k;
    const int rc = serve_run(cfg);
    if (rc != 0) std::exit(rc);
  });

  static std::string worker_dir, worker_job;
  auto* w = app.add_subcommand("job-worker", "");  // hidden: started by the job runner
  w->group("");
  w->add_option("--data-dir", worker_dir)->required();
  w->add_option("--job", worker_job)->required();
  w->callback([] { std::exit(job_worker_main(worker_dir, worker_job)); });
}

}  // namespace loam::cli
