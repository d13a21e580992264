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
    gauge("loam_prefix_tokens_reused_total", "Prompt tokens whose KV was copied from a shared prefix, not computed.",
          "counter", [](const InferStats& s) { return s.prefix_tokens_reused; });
    gauge("loam_kv_cache_rows", "KV cache rows held by running sequences.", "gauge", [](const InferStats& s) { return s.kv_rows; });
  }
  if (engine) {
    const auto stats = engine->stats();
    o << "# HELP loam_base_replicas Replica processes ready, per base model.\n# TYPE loam_base_replicas gauge\n";
    for (const InferStats& s : stats) o << "loam_base_replicas{base=\"" << label_escape(s.base) << "\"} " << s.replicas << "\n";
    if (store) {
      // A deployed model is served by its base's replicas (tuned models by their base's).
      auto base_of = [store](const DeployedModelRecord& d) -> std::string {
        auto m = store->model_get(d.model_id, d.model_version_id);
        if (!m) return "";
        if (m->kind != "tuned") return m->artifact_path;
        auto b = store->model_get(m->base_model_id, m->base_version_id);
        return b ? b->artifact_path : "";
      };
      o << "# HELP loam_replicas Replica processes ready to serve each deployed model (its base's).\n"
           "# TYPE loam_replicas gauge\n";
      for (const EndpointRecord& e : store->endpoint_list())
        for (const DeployedModelRecord& d : e.deployed) {
          const std::string b = base_of(d);
          int64_t n = 0;
          for (const InferStats& s : stats)
            if (s.base == b) n = s.replicas;
          o << "loam_replicas{endpoint=\"" << e.id << "\",deployed_model=\"" << d.id << "\"} " << n << "\n";
        }
    }
  }
  return o.str();
}

}  // namespace loam
