// loam endpoints create|deploy|undeploy|set-traffic|list|get: on the local
// data directory (serve/endpoints.h in-process) or a server (--server,
// env LOAM_SERVER) through the same REST routes; `--output json` prints the
// REST API's JSON either way.
#include <CLI/CLI.hpp>
#include <httplib.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "cli/commands.h"
#include "cli/control_client.h"
#include "core/error.h"
#include "registry/data_dir.h"
#include "serve/endpoints.h"

namespace loam::cli {
namespace {

using nlohmann::json;

std::string path_escape(const std::string& s) {
  std::string o;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') o += static_cast<char>(ch);
    else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", ch);
      o += buf;
    }
  }
  return o;
}

std::string id_of(const std::string& name) { return name.substr(name.rfind('/') + 1); }

// The REST routes or their functions: op is create|list|get|deploy|undeploy|patch.
class EndpointClient {
 public:
  explicit EndpointClient(ControlOptions o) {
    if (o.server.empty())
      if (const char* e = std::getenv("LOAM_SERVER"); e && *e) o.server = e;
    if (o.api_key.empty())
      if (const char* e = std::getenv("LOAM_API_KEY"); e && *e) o.api_key = e;
    if (!o.server.empty()) {
      url_ = o.server;
      http_ = std::make_unique<httplib::Client>(o.server);
      http_->set_read_timeout(600, 0);
      if (!o.api_key.empty()) http_->set_bearer_token_auth(o.api_key);
    } else {
      const std::string dir = data_dir_resolve(o.data_dir);
      store_ = store_open(dir);
      ctx_ = std::make_unique<ControlContext>(ControlContext{*store_, {bucket_root_for(dir), {}}, nullptr});
    }
  }

  json call(const std::string& op, const std::string& ref, const json& body) {
    if (!http_) {
      if (op == "create") return api_endpoint_create(*ctx_, scope_, body);
      if (op == "list") return api_endpoint_list(*ctx_, scope_);
      if (op == "get") return api_endpoint_get(*ctx_, scope_, ref);
      if (op == "deploy") return api_endpoint_deploy(*ctx_, scope_, ref, body);
      if (op == "undeploy") return api_endpoint_undeploy(*ctx_, scope_, ref, body);
      return api_endpoint_patch(*ctx_, scope_, ref, body);
    }
    const std::string base = "/v1/" + scope_.prefix() + "/endpoints";
    const std::string one = base + "/" + path_escape(id_of(ref));
    httplib::Result r = op == "create"     ? http_->Post(base, body.dump(), "application/json")
                        : op == "list"     ? http_->Get(base)
                        : op == "get"      ? http_->Get(one)
                        : op == "deploy"   ? http_->Post(one + ":deployModel", body.dump(), "application/json")
                        : op == "undeploy" ? http_->Post(one + ":undeployModel", body.dump(), "application/json")
                                           : http_->Patch(one, body.dump(), "application/json");
    if (!r) throw Error(url_, "cannot reach the server: " + httplib::to_string(r.error()));
    json j = json::parse(r->body, nullptr, false);
    if (r->status != 200) {
      std::string msg = j.is_object() && j.contains("error") ? j["error"].value("message", r->body) : r->body;
      throw Error(url_, "HTTP " + std::to_string(r->status) + ": " + msg);
    }
    if (j.is_discarded()) throw Error(url_, "the server answered something other than JSON");
    return j;
  }

 private:
  ApiScope scope_;
  std::string url_;
  std::unique_ptr<httplib::Client> http_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ControlContext> ctx_;
};


void print_endpoints(const json& r, const std::string& output) {
  if (output == "json") {
    std::printf("%s\n", r.dump(2).c_str());
    return;
  }
  const json& eps = r.contains("endpoints") ? r["endpoints"] : json::array({r});
  std::printf("%-20s %-24s %-14s %-28s %-9s %s\n", "ID", "DISPLAY NAME", "DEPLOYED ID", "MODEL", "REPLICAS", "TRAFFIC");
  for (const json& e : eps) {
    const json& dms = e.value("deployedModels", json::array());
    if (dms.empty()) std::printf("%-20s %-24s %s\n", id_of(e.value("name", "")).c_str(), e.value("displayName", "").c_str(), "-");
    for (const json& d : dms) {
      const json res = d.value("dedicatedResources", json::object());
      const std::string reps = std::to_string(res.value("minReplicaCount", 1)) + ".." + std::to_string(res.value("maxReplicaCount", 1));
      const json split = e.value("trafficSplit", json::object());
      std::printf("%-20s %-24s %-14s %-28s %-9s %d%%\n", id_of(e.value("name", "")).c_str(), e.value("displayName", "").c_str(),
                  d.value("id", "").c_str(), d.value("displayName", "").c_str(), reps.c_str(),
                  split.value(d.value("id", ""), 0));
    }
  }
}

// "id1=70,id2=30" -> {"id1": 70, "id2": 30}
json split_parse(const std::string& s) {
  json out = json::object();
  size_t at = 0;
  while (at < s.size()) {
    size_t comma = s.find(',', at);
    if (comma == std::string::npos) comma = s.size();
    const std::string item = s.substr(at, comma - at);
    const size_t eq = item.find('=');
    const std::string pct = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (eq == std::string::npos || eq == 0 || pct.empty() || pct.size() > 3 || pct.find_first_not_of("0123456789") != std::string::npos)
      throw Error("set-traffic", "'" + item + "' is not DEPLOYED_MODEL_ID=PERCENT");
    out[item.substr(0, eq)] = std::stoi(pct);
    at = comma + 1;
  }
  return out;
}

}  // namespace

void register_endpoint_commands(CLI::App& app) {
  auto* g = app.add_subcommand("endpoints", "Endpoints: deploy base and tuned models, split traffic");
  g->require_subcommand(1);
  static ControlOptions o;
  auto opts = [](CLI::App* c) {
    c->add_option("--data-dir", o.data_dir, "Data directory (env LOAM_DATA_DIR, default $LOAM_HOME or ~/.loam)");
    c->add_option("--server", o.server, "A loam server's URL (env LOAM_SERVER) instead of the local data directory");
    c->add_option("--api-key", o.api_key, "API key for --server (env LOAM_API_KEY)");
    c->add_option("--output", o.output, "table or json")->check(CLI::IsMember({"table", "json"}));
  };
  static std::string ref, name, description, model, deployed_id, split;
  static int min_r = 1, max_r = 0, pct = -1;

  auto* c = g->add_subcommand("create", "Create an endpoint");
  opts(c);
  c->add_option("--display-name", name, "Display name")->required();
  c->add_option("--description", description, "Description");
  c->callback([] {
    EndpointClient cl(o);
    json op = cl.call("create", "", {{"displayName", name}, {"description", description}});
    print_endpoints(o.output == "json" ? op : op["response"], o.output);
  });

  auto* l = g->add_subcommand("list", "List endpoints and what they serve");
  opts(l);
  l->callback([] { print_endpoints(EndpointClient(o).call("list", "", json::object()), o.output); });

  auto* gt = g->add_subcommand("get", "Show an endpoint");
  opts(gt);
  gt->add_option("ENDPOINT", ref, "Endpoint id, resource name or display name")->required();
  gt->callback([] { print_endpoints(EndpointClient(o).call("get", ref, json::object()), o.output); });

  auto* d = g->add_subcommand("deploy", "Deploy a base or tuned model on an endpoint");
  opts(d);
  d->add_option("ENDPOINT", ref, "Endpoint id, resource name or display name")->required();
  d->add_option("--model", model, "Model (id, display name, resource name; tuned or base)")->required();
  d->add_option("--display-name", name, "Deployed model's display name (default: the model's)");
  d->add_option("--min-replicas", min_r, "Minimum replicas (default 1)")->check(CLI::Range(0, 64));
  d->add_option("--max-replicas", max_r, "Maximum replicas (default: the minimum, at least 1)")->check(CLI::Range(1, 64));
  d->add_option("--traffic-percentage", pct, "Traffic to the new model; the others keep their proportions of the rest")
      ->check(CLI::Range(0, 100));
  d->callback([] {
    EndpointClient cl(o);
    json dm = {{"model", model},
               {"dedicatedResources", {{"minReplicaCount", min_r}, {"maxReplicaCount", max_r > 0 ? max_r : std::max(1, min_r)}}}};
    if (!name.empty()) dm["displayName"] = name;
    json body = {{"deployedModel", dm}};
    if (pct >= 0) {
      const json ep = cl.call("get", ref, json::object());
      json split = {{"0", pct}};
      int sum = 0, given = pct;
      const json old = ep.value("trafficSplit", json::object());
      for (auto& [id, p] : old.items()) sum += p.get<int>();
      std::string first;
      for (auto& [id, p] : old.items()) {
        const int share = sum > 0 ? p.get<int>() * (100 - pct) / sum : 0;
        split[id] = share;
        given += share;
        if (first.empty()) first = id;
      }
      if (given != 100) {
        if (first.empty()) split["0"] = 100;  // the only model takes all traffic
        else split[first] = split[first].get<int>() + 100 - given;
      }
      body["trafficSplit"] = split;
    }
    json op = cl.call("deploy", ref, body);
    if (o.output == "json") std::printf("%s\n", op.dump(2).c_str());
    else std::printf("deployed %s as %s\n", model.c_str(), op["response"]["deployedModel"].value("id", "").c_str());
  });

  auto* u = g->add_subcommand("undeploy", "Undeploy a deployed model");
  opts(u);
  u->add_option("ENDPOINT", ref, "Endpoint")->required();
  u->add_option("--deployed-model-id", deployed_id, "The deployed model's id (see endpoints get)")->required();
  u->callback([] {
    json op = EndpointClient(o).call("undeploy", ref, {{"deployedModelId", deployed_id}});
    if (o.output == "json") std::printf("%s\n", op.dump(2).c_str());
    else std::printf("undeployed %s\n", deployed_id.c_str());
  });

  auto* t = g->add_subcommand("set-traffic", "Set the traffic split: ID=PERCENT,... summing to 100");
  opts(t);
  t->add_option("ENDPOINT", ref, "Endpoint")->required();
  t->add_option("SPLIT", split, "id1=70,id2=30")->required();
  t->callback([] { print_endpoints(EndpointClient(o).call("patch", ref, {{"trafficSplit", split_parse(split)}}), o.output); });
}

}  // namespace loam::cli
