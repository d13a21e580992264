// The web console at `/` (static files from console_assets) and the REST
// routes it needs beyond the managed service's (api_console.h). Thin.
#include <httplib.h>

#include "registry/errors.h"
#include "serve/api_console.h"
#include "serve/console_assets.h"
#include "serve/request_fields.h"
#include "serve/routes.h"

namespace loam {

using nlohmann::json;

namespace {

// Pages run only the console's own scripts and reach only this server.
void secure_headers(httplib::Response& res) {
  res.set_header("Content-Security-Policy",
                 "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
                 "style-src 'self' 'unsafe-inline'; font-src 'self'; base-uri 'none'; form-action 'none'; "
                 "frame-ancestors 'none'");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
}

const char kNotBuilt[] =
    "<!doctype html><html lang=en><head><meta charset=utf-8><title>Loam console not built</title></head>"
    "<body><h1>Loam console not built</h1><p>This <code>loam</code> was built without the web console. "
    "Run <code>scripts/build-web.sh</code> (npm, offline from its lock file) and rebuild "
    "(<code>cmake --build build</code>). The REST API works without it: see <a href=\"/openapi.json\">"
    "/openapi.json</a>.</p></body></html>";

void serve_asset(httplib::Response& res, const std::string& path) {
  secure_headers(res);
  const ConsoleAsset* a = console_asset_find(path);
  if (!a) {
    if (path == "index.html") {
      res.status = 503;
      res.set_content(kNotBuilt, "text/html; charset=utf-8");
      return;
    }
    throw error_not_found("path", "no console file '" + path + "'");
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_content(reinterpret_cast<const char*>(a->data), a->size, a->content_type);
}

}  // namespace

const ConsoleAsset* console_asset_find(const std::string& path) {
  for (size_t i = 0; i < kConsoleAssetCount; i++)
    if (path == kConsoleAssets[i].path) return &kConsoleAssets[i];
  return nullptr;
}

bool console_path_public(const std::string& path) { return path == "/" || path.rfind("/console/", 0) == 0; }

void routes_console_add(Router& r, ControlContext& c) {
  r.add("GET", "/", [](const httplib::Request&, httplib::Response& res, const PathParams&) {
    serve_asset(res, "index.html");
  });
  r.add("GET", "/console/{file}", [](const httplib::Request&, httplib::Response& res, const PathParams& p) {
    serve_asset(res, p.at("file"));
  });
  for (const std::string v : {"/v1", "/v1beta1"}) {
    const std::string base = v + "/projects/{project}/locations/{location}";
    r.add_json("POST", base + "/datasets:inspect", [&c](const httplib::Request& q, const PathParams&) {
      return api_dataset_inspect(c, body_parse(q.body));
    });
    r.add_json("POST", base + "/datasets:split", [&c](const httplib::Request& q, const PathParams&) {
      return api_dataset_split(c, body_parse(q.body));
    });
    r.add_json("POST", base + "/tuningJobs:plan", [&c](const httplib::Request& q, const PathParams&) {
      return api_tuning_plan(c, body_parse(q.body));
    });
    r.add_json("POST", base + "/models/{model}:evaluate", [&c](const httplib::Request& q, const PathParams& p) {
      return api_model_evaluate(c, {p.at("project"), p.at("location")}, p.at("model"), body_parse(q.body));
    });
  }
}

}  // namespace loam
