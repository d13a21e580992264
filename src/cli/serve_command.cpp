// loam serve (the REST API and job runner), the hidden job-worker
// subcommand the runner starts for each job, and the hidden serve-replica
// subcommand the inference engine starts for each replica of a base.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "cli/commands.h"
#include "jobs/worker.h"
#include "registry/data_dir.h"
#include "serve/http_server.h"
#include "serve/infer_replica.h"

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
  s->add_option("--infer-threads", cfg.infer.threads, "Kernel threads per base model, shared by its replicas: each of up to maxReplicaCount takes an "
                 "equal share (default: all cores)")
      ->check(CLI::Range(1, 1024));
  s->add_option("--prefix-cache", cfg.infer.prefix_cache,
                 "Finished prompts per replica whose KV is kept for requests sharing a prefix (default 16; 0 = none)")
      ->check(CLI::Range(0, 4096));
  s->add_option("--replica-start-timeout", cfg.infer.start_timeout_s,
                 "Seconds a replica may take to load before it is killed and started again (default 600)")
      ->check(CLI::Range(1.0, 86400.0));
  s->add_option("--scale-down-idle", cfg.infer.scale_down_idle_s,
                 "Seconds a replica sits idle before it stops, down to the deployed minimum (default 300)")
      ->check(CLI::Range(0.1, 1e7));
  s->add_option("--precision", cfg.infer.precision,
                "Matrix products: auto (BF16 for BF16 checkpoints, the default), exact (fp32) or bf16 (an fp32 "
                "checkpoint is converted once to a BF16 file the replicas share)")
      ->check(CLI::IsMember({"auto", "exact", "bf16"}));
  s->callback([] {
    cfg.data_dir = data_dir_resolve(data_dir);
    if (cfg.api_key.empty())
      if (const char* k = std::getenv("LOAM_API_KEY"); k && *k) cfg.api_key = k;
    const int rc = serve_run(cfg);
    if (rc != 0) std::exit(rc);
  });

  static InferSettings replica;
  static std::string replica_base;
  static int replica_fd = 3;
  auto* r = app.add_subcommand("serve-replica", "");  // hidden: one replica of a served base, started by `loam serve`
  r->group("");
  r->add_option("--base", replica_base)->required();
  r->add_option("--fd", replica_fd);
  r->add_option("--max-batch", replica.max_batch);
  r->add_option("--max-loaded-adapters", replica.max_loaded_adapters);
  r->add_option("--prefill-chunk", replica.prefill_chunk);
  r->add_option("--prefix-cache", replica.prefix_cache);
  r->add_option("--infer-threads", replica.threads);
  r->add_option("--precision", replica.precision);
  r->callback([] {
    const int rc = infer_replica_main(replica_base, replica, replica_fd);
    // Everything it owned is joined and freed; skip static destructors (the
    // kernels' thread pools) that could still race a detached thread.
    std::fflush(nullptr);
    _exit(rc);
  });

  static std::string worker_dir, worker_job;
  auto* w = app.add_subcommand("job-worker", "");  // hidden: started by the job runner
  w->group("");
  w->add_option("--data-dir", worker_dir)->required();
  w->add_option("--job", worker_job)->required();
  w->callback([] { std::exit(job_worker_main(worker_dir, worker_job)); });
}

}  // namespace loam::cli
