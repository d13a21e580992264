#include "serve/router.h"

#include <httplib.h>

#include <regex>

#include "registry/errors.h"
#include "serve/api_error.h"

namespace loam {

void respond_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void respond_error(httplib::Response& res, const std::exception& e) {
  ApiError a = api_error_of(e);
  respond_json(res, a.http_status, a.body());
}

void Router::add(const std::string& method, const std::string& path, Handler h) {
  routes_.push_back({method, path});
  if (!server_) return;
  // {name} -> a capture of one segment: no '/', and no ':' unless it ends the
  // path, so "{id}:cancel" keeps its verb while "models/{model}" takes
  // "ft:base:loam:x" whole.
  std::vector<std::string> names;
  std::string pattern;
  for (size_t i = 0; i < path.size(); i++) {
    if (path[i] == '{') {
      size_t e = path.find('}', i);
      names.push_back(path.substr(i + 1, e - i - 1));
      pattern += e + 1 == path.size() ? "([^/]+)" : "([^/:]+)";
      i = e;
    } else if (std::string("().[]*+?^$\\|").find(path[i]) != std::string::npos) {
      pattern += '\\';
      pattern += path[i];
    } else {
      pattern += path[i];
    }
  }
  auto handler = [names, h](const httplib::Request& req, httplib::Response& res) {
    PathParams params;
    for (size_t i = 0; i < names.size() && i + 1 < req.matches.size(); i++) params[names[i]] = req.matches[i + 1];
    try {
      h(req, res, params);
    } catch (const std::exception& e) {
      respond_error(res, e);
    }
  };
  if (method == "GET") server_->Get(pattern, handler);
  else if (method == "POST") server_->Post(pattern, handler);
  else if (method == "PATCH") server_->Patch(pattern, handler);
  else if (method == "DELETE") server_->Delete(pattern, handler);
}

void Router::add_json(const std::string& method, const std::string& path, JsonHandler h) {
  const size_t limit = max_json_bytes_;
  add(method, path, [h, limit](const httplib::Request& req, httplib::Response& res, const PathParams& p) {
    if (req.body.size() > limit)
      return respond_json(res, 413, api_error(413, "request body: " + std::to_string(req.body.size()) +
                                                       " bytes is above the limit of " + std::to_string(limit)).body());
    respond_json(res, 200, h(req, p));
  });
}

}  // namespace loam
