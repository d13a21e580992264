// OpenAI-compatible fine-tuning routes: /v1/files and /v1/fine_tuning/jobs.
// Thin: read the request, call api_openai, answer its JSON.
#include <httplib.h>

#include "registry/errors.h"
#include "serve/api_openai.h"
#include "serve/request_fields.h"
#include "serve/routes.h"

namespace loam {

using nlohmann::json;

namespace {

int limit_param(const httplib::Request& q) {
  const std::string v = q.get_param_value("limit");
  if (v.empty()) return 20;
  if (v.size() > 4 || v.find_first_not_of("0123456789") != std::string::npos || v == "0")
    throw error_invalid("limit", "must be between 1 and 9999");
  return std::stoi(v);
}

}  // namespace

void routes_openai_add(Router& r, ControlContext& c) {
  r.add("POST", "/v1/files", [&c](const httplib::Request& q, httplib::Response& res, const PathParams&) {
    if (!q.is_multipart_form_data()) throw error_invalid("request body", "must be multipart/form-data with file and purpose");
    if (!q.has_file("file")) throw error_invalid("file", "is required");
    const auto file = q.get_file_value("file");
    const std::string purpose = q.has_file("purpose") ? q.get_file_value("purpose").content : "";
    respond_json(res, 200, openai_file_upload(c, file.filename, purpose, file.content));
  });
  r.add_json("GET", "/v1/files", [&c](const httplib::Request&, const PathParams&) { return openai_files_list(c); });
  r.add_json("GET", "/v1/files/{file_id}", [&c](const httplib::Request&, const PathParams& p) {
    return openai_file_get(c, p.at("file_id"));
  });
  r.add("GET", "/v1/files/{file_id}/content", [&c](const httplib::Request&, httplib::Response& res, const PathParams& p) {
    res.set_content(openai_file_content(c, p.at("file_id")), "application/octet-stream");
  });
  r.add_json("DELETE", "/v1/files/{file_id}", [&c](const httplib::Request&, const PathParams& p) {
    return openai_file_delete(c, p.at("file_id"));
  });
  r.add_json("POST", "/v1/fine_tuning/jobs", [&c](const httplib::Request& q, const PathParams&) {
    return openai_job_create(c, body_parse(q.body));
  });
  r.add_json("GET", "/v1/fine_tuning/jobs", [&c](const httplib::Request& q, const PathParams&) {
    return openai_jobs_list(c, q.get_param_value("after"), limit_param(q));
  });
  r.add_json("GET", "/v1/fine_tuning/jobs/{job_id}", [&c](const httplib::Request&, const PathParams& p) {
    return openai_job_get(c, p.at("job_id"));
  });
  for (const std::string action : {"cancel", "pause", "resume"})
    r.add_json("POST", "/v1/fine_tuning/jobs/{job_id}/" + action, [&c, action](const httplib::Request&, const PathParams& p) {
      return openai_job_action(c, p.at("job_id"), action);
    });
  r.add_json("GET", "/v1/fine_tuning/jobs/{job_id}/events", [&c](const httplib::Request& q, const PathParams& p) {
    return openai_job_events(c, p.at("job_id"), limit_param(q));
  });
  r.add_json("GET", "/v1/fine_tuning/jobs/{job_id}/checkpoints", [&c](const httplib::Request&, const PathParams& p) {
    return openai_job_checkpoints(c, p.at("job_id"));
  });
}

}  // namespace loam
