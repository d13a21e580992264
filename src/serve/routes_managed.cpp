// The managed service's REST shape under /v1/ and /v1beta1/: tuningJobs and
// models in projects/{project}/locations/{location}. Thin: read the
// request, call the control API, answer its JSON.
#include <httplib.h>

#include "registry/errors.h"
#include "serve/request_fields.h"
#include "serve/routes.h"

namespace loam {

using nlohmann::json;

namespace {

ApiScope scope_of(const PathParams& p) { return {p.at("project"), p.at("location")}; }

ListParams list_params(const httplib::Request& req) {
  ListParams p;
  p.filter = req.get_param_value("filter");
  p.order_by = req.get_param_value("orderBy");
  p.page_token = req.get_param_value("pageToken");
  const std::string size = req.get_param_value("pageSize");
  if (!size.empty()) {
    if (size.size() > 6 || size.find_first_not_of("0123456789") != std::string::npos)
      throw error_invalid("pageSize", "must be a non-negative integer");
    p.page_size = std::stoi(size);
  }
  return p;
}

}  // namespace

void routes_managed_add(Router& r, ControlContext& c) {
  for (const std::string v : {"/v1", "/v1beta1"}) {
    const std::string base = v + "/projects/{project}/locations/{location}";
    r.add_json("POST", base + "/tuningJobs", [&c](const httplib::Request& q, const PathParams& p) {
      return api_tuning_create(c, scope_of(p), body_parse(q.body));
    });
    r.add_json("POST", base + "/pipelineJobs", [&c](const httplib::Request& q, const PathParams& p) {
      return api_pipeline_create(c, scope_of(p), body_parse(q.body));
    });
    r.add_json("GET", base + "/pipelineJobs/{id}", [&c](const httplib::Request&, const PathParams& p) {
      return api_pipeline_get(c, scope_of(p), p.at("id"));
    });
    r.add_json("GET", base + "/tuningJobs", [&c](const httplib::Request& q, const PathParams& p) {
      return api_tuning_list(c, scope_of(p), list_params(q));
    });
    r.add_json("GET", base + "/tuningJobs/{id}", [&c](const httplib::Request&, const PathParams& p) {
      return api_tuning_get(c, scope_of(p), p.at("id"));
    });
    r.add_json("POST", base + "/tuningJobs/{id}:cancel", [&c](const httplib::Request&, const PathParams& p) {
      return api_tuning_cancel(c, scope_of(p), p.at("id"));
    });
    r.add_json("POST", base + "/tuningJobs/{id}:pause", [&c](const httplib::Request&, const PathParams& p) {
      return api_tuning_pause(c, scope_of(p), p.at("id"));
    });
    r.add_json("POST", base + "/tuningJobs/{id}:resume", [&c](const httplib::Request&, const PathParams& p) {
      return api_tuning_resume(c, scope_of(p), p.at("id"));
    });
    r.add_json("GET", base + "/tuningJobs/{id}/events", [&c](const httplib::Request& q, const PathParams& p) {
      const std::string after = q.get_param_value("afterId");
      if (after.size() > 18 || after.find_first_not_of("0123456789") != std::string::npos)
        throw error_invalid("afterId", "must be an event id");
      return api_tuning_events(c, p.at("id"), after.empty() ? 0 : std::stoll(after));
    });
    r.add_json("GET", base + "/tuningJobs/{id}/metrics", [&c](const httplib::Request&, const PathParams& p) {
      return api_tuning_metrics(c, p.at("id"));
    });
    r.add_json("GET", base + "/models", [&c](const httplib::Request& q, const PathParams& p) {
      return api_models_list(c, scope_of(p), list_params(q));
    });
    r.add_json("POST", base + "/models:upload", [&c](const httplib::Request& q, const PathParams& p) {
      return api_model_upload(c, scope_of(p), body_parse(q.body));
    });
    r.add_json("GET", base + "/models/{model}", [&c](const httplib::Request&, const PathParams& p) {
      return api_model_get(c, scope_of(p), p.at("model"));
    });
    r.add_json("PATCH", base + "/models/{model}", [&c](const httplib::Request& q, const PathParams& p) {
      return api_model_patch(c, scope_of(p), p.at("model"), body_parse(q.body));
    });
    r.add_json("DELETE", base + "/models/{model}", [&c](const httplib::Request& q, const PathParams& p) {
      return api_model_delete(c, scope_of(p), p.at("model"), q.get_param_value("force") == "true");
    });
  }
}

void routes_all_add(Router& r, ControlContext& c) {
  routes_model_versions_add(r, c);  // before models/{model}, whose last segment would take "{model}:listVersions"
  routes_managed_add(r, c);
  routes_evaluations_add(r, c);
  routes_openai_add(r, c);
  routes_inference_add(r, c);
  routes_console_add(r, c);
  r.add_json("GET", "/health", [&c](const httplib::Request&, const PathParams&) {
    return json{{"status", "ok"}, {"apiKeyRequired", c.api_key_required}};
  });
  r.add_json("GET", "/openapi.json", [](const httplib::Request&, const PathParams&) { return openapi_document(); });
}

}  // namespace loam
