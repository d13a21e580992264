#include "serve/http_server.h"

#include <httplib.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <sys/socket.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <thread>

#include "jobs/runner.h"
#include "registry/data_dir.h"
#include "registry/store.h"
#include "serve/api_error.h"
#include "serve/console_assets.h"
#include "serve/endpoints.h"
#include "serve/infer_metrics.h"
#include "serve/routes.h"

namespace loam {
namespace {

constexpr int kListenBacklog = 1024;  // connections the kernel queues for accept (capped by somaxconn)

bool key_matches(const std::string& given, const std::string& key) {
  // Constant time in the key's content: compare fixed-length digests' worth
  // of bytes whatever the given length.
  if (given.size() != key.size()) {
    volatile unsigned char sink = 0;
    for (char ch : key) sink = sink | static_cast<unsigned char>(ch);
    (void)sink;
    return false;
  }
  return CRYPTO_memcmp(given.data(), key.data(), key.size()) == 0;
}

bool authorized(const httplib::Request& req, const std::string& key) {
  const std::string auth = req.get_header_value("Authorization");
  const std::string bearer = "Bearer ";
  if (auth.size() > bearer.size() && auth.compare(0, bearer.size(), bearer) == 0 &&
      key_matches(auth.substr(bearer.size()), key))
    return true;
  const std::string goog = req.get_header_value("x-goog-api-key");
  return !goog.empty() && key_matches(goog, key);
}

bool is_loopback(const std::string& host) { return host == "127.0.0.1" || host == "localhost" || host == "::1"; }

std::string self_exe() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "loam";
}

}  // namespace

int serve_run(const ServeConfig& cfg) {
  // SIGINT/SIGTERM are taken by one thread (sigwait) that stops the server.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto store = store_open(cfg.data_dir);
  const std::string buckets = bucket_root_for(cfg.data_dir);
  dir_make_all(buckets);
  PathPolicy paths{buckets, {cfg.data_dir, buckets}};
  for (const auto& p : cfg.allow_paths) paths.roots.push_back(p);

  RunnerConfig runner_cfg;
  runner_cfg.max_concurrent = cfg.max_concurrent_jobs;
  runner_cfg.loam_binary = self_exe();
  runner_cfg.data_dir = cfg.data_dir;
  runner_cfg.mpi_hostfile = cfg.mpi_hostfile;
  JobRunner runner(*store, runner_cfg);
  InferSettings infer = cfg.infer;
  infer.replica_binary = self_exe();
  infer.events_path = cfg.data_dir + "/replica_events.jsonl";
  infer.cache_dir = cfg.data_dir + "/cache";
  InferenceEngine engine(infer);
  ServeMetrics metrics;
  ControlContext ctx{*store, paths, [&runner] { runner.poke(); }, &engine, &metrics};
  ctx.api_key_required = !cfg.api_key.empty();

  httplib::Server svr;
  svr.new_task_queue = [n = cfg.threads] { return new httplib::ThreadPool(static_cast<size_t>(n)); };
  svr.set_payload_max_length(cfg.max_upload_bytes);
  svr.set_pre_routing_handler([&cfg](const httplib::Request& req, httplib::Response& res) {
    if (cfg.api_key.empty() || req.path == "/health" || console_path_public(req.path) || authorized(req, cfg.api_key))
      return httplib::Server::HandlerResponse::Unhandled;
    respond_json(res, 401, api_error(401, "missing or wrong API key (Authorization: Bearer KEY or x-goog-api-key)").body());
    return httplib::Server::HandlerResponse::Handled;
  });
  svr.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) respond_json(res, 404, api_error(404, "no route " + req.method + " " + req.path).body());
    else if (res.status == 413) respond_json(res, 413, api_error(413, "request body too large").body());
    else respond_json(res, res.status, api_error(res.status, "malformed HTTP request (a POST needs Content-Length or a body)").body());
  });
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      respond_error(res, e);
    } catch (...) {
      respond_json(res, 500, api_error(500, "internal error").body());
    }
  });

  Router router(&svr, cfg.max_json_bytes);
  routes_all_add(router, ctx);

  // Debian's cpp-httplib is built with a listen backlog of 5: in a burst of
  // more connections than that, arriving while the accepting thread waits
  // for a core (replicas compute on all of them), the kernel drops the
  // extra SYNs and those clients retry a second later. The backlog is raised
  // once the socket listens (listen() again on it only changes the queue).
  int listen_fd = -1;
  svr.set_socket_options([&listen_fd](int s) {
    httplib::default_socket_options(s);
    listen_fd = s;
  });
  int port = cfg.port;
  if (port == 0) {
    port = svr.bind_to_any_port(cfg.host);
  } else if (!svr.bind_to_port(cfg.host, port)) {
    port = -1;
  }
  if (port >= 0 && listen_fd >= 0 && ::listen(listen_fd, kListenBacklog) != 0) port = -1;
  if (port < 0) {
    std::fprintf(stderr, "error: cannot listen on %s:%d (in use, or not an address of this machine)\n",
                 cfg.host.c_str(), cfg.port);
    return 1;
  }
  if (!is_loopback(cfg.host) && cfg.api_key.empty())
    std::fprintf(stderr, "warning: listening on %s without --api-key: anyone who can reach this port controls it\n",
                 cfg.host.c_str());
  runner.start();
  // Deployed models come back up; then each tuning job that succeeds gets an endpoint.
  std::atomic<bool> stopping{false};
  std::thread restorer([&ctx, &stopping, since = time_now_rfc3339()] {
    endpoints_restore(ctx);
    while (!stopping) {
      try {
        endpoints_for_tuned_jobs(ctx, since);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "loam serve: endpoints for tuned models: %s\n", e.what());
      }
      for (int i = 0; i < 10 && !stopping; i++) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    svr.stop();
  });
  std::fprintf(stderr, "loam serve: listening on http://%s:%d (data dir %s)\n", cfg.host.c_str(), port,
               cfg.data_dir.c_str());
  std::fflush(stderr);
  svr.listen_after_bind();
  stopping = true;
  restorer.join();
  runner.stop();
  if (stopper.joinable()) {
    pthread_kill(stopper.native_handle(), SIGTERM);  // wakes sigwait if the server stopped for another reason
    stopper.join();
  }
  return 0;
}

}  // namespace loam
