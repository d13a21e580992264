// The route groups of `loam serve`, each one file over the control API.
#pragma once

#include "serve/control_api.h"
#include "serve/router.h"

namespace loam {

void routes_managed_add(Router& r, ControlContext& c);  // /v1 and /v1beta1 tuningJobs, models
void routes_openai_add(Router& r, ControlContext& c);   // /v1/files, /v1/fine_tuning/jobs (OpenAI)
void routes_evaluations_add(Router& r, ControlContext& c);  // models/{model}/evaluations (api_evaluations.cpp)
void routes_model_versions_add(Router& r, ControlContext& c);  // models/{model}:listVersions (api_model_versions.cpp)
void routes_inference_add(Router& r, ControlContext& c); // inference (OpenAI, generateContent, predict), endpoints, /metrics
void routes_console_add(Router& r, ControlContext& c);   // the web console at / and its REST routes (routes_console.cpp)
void routes_replicas_add(Router& r, ControlContext& c); // GET /v1/inference/replicas (routes_replicas.cpp)
void routes_all_add(Router& r, ControlContext& c);      // every route the server answers (health, openapi too)
nlohmann::json openapi_document();                      // what /openapi.json serves

}  // namespace loam
