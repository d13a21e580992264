// A model's versions, as the managed service lists them
// (GET models/{model}:listVersions -> {"models": [Model...]}, oldest first).
// A tuned model's versions are its exported adapter (the default version)
// and each checkpoint its job kept (alias "checkpoint-<step>"); every one is
// usable wherever a model is named, as models/{id}@{version or alias}.
#include <httplib.h>

#include "registry/errors.h"
#include "registry/model_ref.h"
#include "serve/routes.h"

namespace loam {

using nlohmann::json;

json api_model_versions(ControlContext& c, const ApiScope& s, const std::string& name, const ListParams& p) {
  const ModelRecord m = model_resolve(c.store, name, "name");
  const std::vector<ModelRecord> versions = c.store.model_versions(m.id);
  std::vector<ListItemFields> fields;
  for (const ModelRecord& v : versions) fields.push_back({v.display_name, v.create_time, v.update_time, "", v.labels});
  std::string next;
  json out = json::array();
  for (size_t i : list_select(fields, p, next)) out.push_back(model_to_rest(versions[i], s));
  json r = {{"models", out}};
  if (!next.empty()) r["nextPageToken"] = next;
  return r;
}

void routes_model_versions_add(Router& r, ControlContext& c) {
  for (const std::string v : {"/v1", "/v1beta1"}) {
    const std::string base = v + "/projects/{project}/locations/{location}";
    r.add_json("GET", base + "/models/{model}:listVersions", [&c](const httplib::Request& q, const PathParams& p) {
      ListParams lp;
      lp.filter = q.get_param_value("filter");
      lp.order_by = q.get_param_value("orderBy");
      lp.page_token = q.get_param_value("pageToken");
      const std::string size = q.get_param_value("pageSize");
      if (!size.empty()) {
        if (size.size() > 6 || size.find_first_not_of("0123456789") != std::string::npos)
          throw error_invalid("pageSize", "must be a non-negative integer");
        lp.page_size = std::stoi(size);
      }
      return api_model_versions(c, {p.at("project"), p.at("location")}, p.at("model"), lp);
    });
  }
}

}  // namespace loam
