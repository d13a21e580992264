#include "cli/control_client.h"

#include <httplib.h>

#include <cstdlib>

#include "core/error.h"
#include "registry/data_dir.h"
#include "registry/model_ref.h"
#include "registry/store.h"
#include "serve/control_api.h"

namespace loam::cli {
namespace {

using nlohmann::json;

class LocalControl final : public ControlClient {
 public:
  explicit LocalControl(const std::string& data_dir)
      : store_(store_open(data_dir)), ctx_{*store_, {bucket_root_for(data_dir), {}}, nullptr} {}
  json models_list(const ListParams& p) override { return api_models_list(ctx_, scope_, p); }
  json model_get(const std::string& n) override { return api_model_get(ctx_, scope_, n); }
  json model_upload(const json& b) override { return api_model_upload(ctx_, scope_, b); }
  json model_patch(const std::string& n, const json& b) override { return api_model_patch(ctx_, scope_, n, b); }
  json model_delete(const std::string& n, bool f) override { return api_model_delete(ctx_, scope_, n, f); }
  json model_versions(const std::string& n) override { return api_model_versions(ctx_, scope_, n, {}); }
  json jobs_list(const ListParams& p) override { return api_tuning_list(ctx_, scope_, p); }
  json job_get(const std::string& id) override { return api_tuning_get(ctx_, scope_, id); }
  json job_create(const json& b) override { return api_tuning_create(ctx_, scope_, b); }
  json job_action(const std::string& id, const std::string& a) override {
    if (a == "cancel") return api_tuning_cancel(ctx_, scope_, id);
    if (a == "pause") return api_tuning_pause(ctx_, scope_, id);
    return api_tuning_resume(ctx_, scope_, id);
  }
  json job_events(const std::string& id, int64_t after) override { return api_tuning_events(ctx_, id, after); }
  json job_metrics(const std::string& id) override { return api_tuning_metrics(ctx_, id); }

 private:
  std::unique_ptr<Store> store_;
  ControlContext ctx_;
  ApiScope scope_;
};

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == '@') {
      out += static_cast<char>(ch);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", ch);
      out += buf;
    }
  }
  return out;
}

class RemoteControl final : public ControlClient {
 public:
  RemoteControl(const std::string& url, const std::string& key) : url_(url), client_(url) {
    client_.set_read_timeout(600, 0);
    if (!key.empty()) client_.set_bearer_token_auth(key);
  }
  json models_list(const ListParams& p) override { return call("GET", base_ + "/models" + query(p), nullptr); }
  json model_get(const std::string& n) override { return call("GET", model_path(n), nullptr); }
  json model_upload(const json& b) override { return call("POST", base_ + "/models:upload", &b); }
  json model_patch(const std::string& n, const json& b) override { return call("PATCH", model_path(n), &b); }
  json model_versions(const std::string& n) override { return call("GET", model_path(n) + ":listVersions", nullptr); }
  json model_delete(const std::string& n, bool f) override {
    return call("DELETE", model_path(n) + (f ? "?force=true" : ""), nullptr);
  }
  json jobs_list(const ListParams& p) override { return call("GET", base_ + "/tuningJobs" + query(p), nullptr); }
  json job_get(const std::string& id) override { return call("GET", job_path(id), nullptr); }
  json job_create(const json& b) override { return call("POST", base_ + "/tuningJobs", &b); }
  json job_action(const std::string& id, const std::string& a) override {
    json empty = json::object();
    return call("POST", job_path(id) + ":" + a, &empty);
  }
  json job_events(const std::string& id, int64_t after) override {
    return call("GET", job_path(id) + "/events?afterId=" + std::to_string(after), nullptr);
  }
  json job_metrics(const std::string& id) override { return call("GET", job_path(id) + "/metrics", nullptr); }

 private:
  std::string model_path(const std::string& n) {
    ModelRef r = model_ref_parse(n);
    return base_ + "/models/" + url_encode(r.id + (r.selector.empty() ? "" : "@" + r.selector));
  }
  std::string job_path(const std::string& id) { return base_ + "/tuningJobs/" + url_encode(tuning_job_id_of(id)); }
  static std::string query(const ListParams& p) {
    std::string q;
    auto add = [&](const char* k, const std::string& v) {
      if (!v.empty()) q += (q.empty() ? "?" : "&") + std::string(k) + "=" + url_encode(v);
    };
    add("filter", p.filter);
    add("orderBy", p.order_by);
    add("pageToken", p.page_token);
    if (p.page_size > 0) add("pageSize", std::to_string(p.page_size));
    return q;
  }
  json call(const std::string& method, const std::string& path, const json* body) {
    const std::string b = body ? body->dump() : "";
    httplib::Result r = method == "GET"     ? client_.Get(path)
                        : method == "POST"  ? client_.Post(path, b, "application/json")
                        : method == "PATCH" ? client_.Patch(path, b, "application/json")
                                            : client_.Delete(path);
    if (!r) throw Error(url_, "cannot reach the server: " + httplib::to_string(r.error()));
    json j = json::parse(r->body, nullptr, false);
    if (r->status != 200) {
      std::string msg = j.is_object() && j.contains("error") ? j["error"].value("message", r->body) : r->body;
      throw Error(url_, "HTTP " + std::to_string(r->status) + ": " + msg);
    }
    if (j.is_discarded()) throw Error(url_, "the server answered something other than JSON");
    return j;
  }
  std::string url_;
  httplib::Client client_;
  const std::string base_ = "/v1/projects/local/locations/local";
};

}  // namespace

std::unique_ptr<ControlClient> control_client_open(ControlOptions o) {
  if (o.server.empty())
    if (const char* e = std::getenv("LOAM_SERVER"); e && *e) o.server = e;
  if (o.api_key.empty())
    if (const char* e = std::getenv("LOAM_API_KEY"); e && *e) o.api_key = e;
  if (!o.server.empty()) return std::make_unique<RemoteControl>(o.server, o.api_key);
  return std::make_unique<LocalControl>(data_dir_resolve(o.data_dir));
}

}  // namespace loam::cli
