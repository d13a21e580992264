// Routes as OpenAPI path templates ("/v1/projects/{project}/locations/
// {location}/tuningJobs/{id}:cancel"): each is turned into a pattern for the
// HTTP library and recorded, so a test can check every route against the
// OpenAPI document. Handlers are thin: they read the request into the
// control API's arguments and write its JSON; every exception becomes the
// error body with the status api_error_of() gives.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace loam {

using PathParams = std::map<std::string, std::string>;

struct RouteInfo {
  std::string method, path;  // "POST", OpenAPI template
};

class Router {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&, const PathParams&)>;
  using JsonHandler = std::function<nlohmann::json(const httplib::Request&, const PathParams&)>;

  Router(httplib::Server* server, size_t max_json_bytes) : server_(server), max_json_bytes_(max_json_bytes) {}
  void add(const std::string& method, const std::string& path, Handler h);
  // For routes answering JSON with status 200; a JSON request body above
  // max_json_bytes is refused with 413 before the handler runs.
  void add_json(const std::string& method, const std::string& path, JsonHandler h);
  const std::vector<RouteInfo>& routes() const { return routes_; }

 private:
  httplib::Server* server_;  // nullptr: only record (tests)
  size_t max_json_bytes_;
  std::vector<RouteInfo> routes_;
};

void respond_json(httplib::Response& res, int status, const nlohmann::json& body);
void respond_error(httplib::Response& res, const std::exception& e);

}  // namespace loam
