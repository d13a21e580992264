// Counters behind GET /metrics (Prometheus text format 0.0.4): requests by
// route and status, latency and time-to-first-token histograms; the
// engine's gauges (queue depth, running sequences, adapters loaded, KV rows,
// replicas per deployed model) are read from it when scraped.
// Thread-safe: handler threads record, the scrape reads.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>

namespace loam {

class InferenceEngine;
class Store;

class ServeMetrics {
 public:
  // endpoint: the id of the endpoint the request was addressed to, or "";
  // when set, the request's series carry an endpoint label too.
  void request_done(const std::string& route, int status, double seconds, const std::string& endpoint = "");
  void first_token(double seconds);
  // The text of /metrics. engine and store may be null.
  std::string render(InferenceEngine* engine, Store* store);

 private:
  struct Histogram {
    std::array<int64_t, 14> buckets{};
    double sum = 0;
    int64_t count = 0;
    void add(double v);
  };
  std::mutex mu_;
  std::map<std::tuple<std::string, int, std::string>, int64_t> requests_;  // GUARDED_BY(mu_), route, status, endpoint
  std::map<std::pair<std::string, std::string>, Histogram> latency_;       // GUARDED_BY(mu_), by route, endpoint
  Histogram ttft_;                                            // GUARDED_BY(mu_)
};

}  // namespace loam
