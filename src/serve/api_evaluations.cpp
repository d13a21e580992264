// Evaluations in the managed service's ModelEvaluation shape: a model's
// evaluations (every version) under /models/{model}/evaluations. What `loam
// eval` and tuning jobs that evaluate their checkpoints record; a tuning
// job's own list is part of its TuningJob (rest_shapes.cpp).
#include <httplib.h>

#include "registry/model_ref.h"
#include "serve/routes.h"

namespace loam {

using nlohmann::json;

json api_model_evaluations(ControlContext& c, const ApiScope& s, const std::string& model) {
  const ModelRecord m = model_resolve(c.store, model, "name");
  json a = json::array();
  for (const EvaluationRecord& e : c.store.evaluations_of_model(m.id)) a.push_back(evaluation_to_rest(e, s));
  return {{"modelEvaluations", a}};
}

void routes_evaluations_add(Router& r, ControlContext& c) {
  for (const std::string v : {"/v1", "/v1beta1"}) {
    const std::string base = v + "/projects/{project}/locations/{location}";
    r.add_json("GET", base + "/models/{model}/evaluations", [&c](const httplib::Request&, const PathParams& p) {
      return api_model_evaluations(c, {p.at("project"), p.at("location")}, p.at("model"));
    });
  }
}

}  // namespace loam
