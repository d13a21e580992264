#include "serve/infer_metrics.h"

#include <sstream>

#include "registry/store.h"
#include "serve/infer_engine.h"

namespace loam {
namespace {

constexpr double kBounds[14] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};

std::string label_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '\\' || c == '"') o += '\\';
    if (c == '\n') {
      o += "\\n";
      continue;
    }
    o += c;
  }
  return o;
}

}  // namespace

void ServeMetrics::Histogram::add(double v) {
  for (size_t i = 0; i < buckets.size(); i++)
    if (v <= kBounds[i]) buckets[i]++;
  sum += v;
  count++;
}

void ServeMetrics::request_done(const std::string& route, int status, double seconds, const std::string& endpoint) {
  std::lock_guard<std::mutex> lk(mu_);
  requests_[{route, status, endpoint}]++;
  latency_[{route, endpoint}].add(seconds);
}

void ServeMetrics::first_token(double seconds) {
  std::lock_guard<std::mutex> lk(mu_);
  ttft_.add(seconds);
}

std::string ServeMetrics::render(InferenceEngine* engine, Store* store) {
  std::ostringstream o;
  auto hist = [&o](const std::string& name, const std::string& labels, const Histogram& h) {
    const std::string sep = labels.empty() ? "" : ",";
    for (size_t i = 0; i < h.buckets.size(); i++)
      o << name << "_bucket{" << labels << sep << "le=\"" << kBounds[i] << "\"} " << h.buckets[i] << "\n";
    o << name << "_bucket{" << labels << sep << "le=\"+Inf\"} " << h.count << "\n";
    o << name << "_sum" << (labels.empty() ? "" : "{" + labels + "}") << " " << h.sum << "\n";
    o << name << "_count" << (labels.empty() ? "" : "{" + labels + "}") << " " << h.count << "\n";
  };
  {
    std::lock_guard<std::mutex> lk(mu_);
    o << "# HELP loam_requests_total Inference requests answered, by route and HTTP status (and endpoint, when addressed to one).\n"
         "# TYPE loam_requests_total counter\n";
    auto ep = [](const std::string& e) { return e.empty() ? std::string() : ",endpoint=\"" + label_escape(e) + "\""; };
    for (const auto& [k, n] : requests_)
      o << "loam_requests_total{route=\"" << label_escape(std::get<0>(k)) << "\",status=\"" << std::get<1>(k) << "\""
        << ep(std::get<2>(k)) << "} " << n << "\n";
    o << "# HELP loam_request_duration_seconds Time from request to its last byte, by route (and endpoint).\n"
         "# TYPE loam_request_duration_seconds histogram\n";
    for (const auto& [k, h] : latency_)
      hist("loam_request_duration_seconds", "route=\"" + label_escape(k.first) + "\"" + ep(k.second), h);
    o << "# HELP loam_time_to_first_token_seconds Time from request to its first generated text.\n"
         "# TYPE loam_time_to_first_token_seconds histogram\n";
    hist("loam_time_to_first_token_seconds", "", ttft_);
  }
  if (engine) {
    const auto stats = engine->stats();
    auto gauge = [&](const char* name, const char* help, const char* type, auto get) {
      o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
      for (const InferStats& s : stats) o << name << "{base=\"" << label_escape(s.base) << "\"} " << get(s) << "\n";
    };
    gauge("loam_tokens_in_total", "Prompt tokens admitted.", "counter", [](const InferStats& s) { return s.tokens_in; });
    gauge("loam_tokens_out_total", "Tokens generated.", "counter", [](const InferStats& s) { return s.tokens_out; });
    gauge("loam_queue_depth", "Requests waiting to join the batch.", "gauge", [](const InferStats& s) { return s.queued; });
    gauge("loam_batch_size", "Sequences in the running batch.", "gauge", [](const InferStats& s) { return s.running; });
    gauge("loam_decode_steps_total", "Batched decode steps.", "counter", [](const InferStats& s) { return s.steps; });
    gauge("loam_decode_step_rows_total", "Sequences summed over steps (divide by steps: mean batch).", "counter",
          [](const InferStats& s) { return s.step_rows; });
    gauge("loam_adapters_loaded", "Adapters in memory.", "gauge", [](const InferStats& s) { return s.adapters_loaded; });
    gauge("loam_kv_cache_rows", "KV cache rows held by running sequences.", "gauge", [](const InferStats& s) { return s.kv_rows; });
  }
  if (store) {
    o << "# HELP loam_replicas Replicas serving each deployed model (min..max as deployed; one scheduler per base).\n"
         "# TYPE loam_replicas gauge\n";
    for (const EndpointRecord& e : store->endpoint_list())
      for (const DeployedModelRecord& d : e.deployed)
        o << "loam_replicas{endpoint=\"" << e.id << "\",deployed_model=\"" << d.id << "\"} "
          << (engine ? 1 : 0) << "\n";
  }
  return o.str();
}

}  // namespace loam
