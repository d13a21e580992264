// Endpoints in the managed service's shape: an endpoint holds deployed
// models (each a base or tuned model with min/max replica counts) and a
// traffic split over them. JSON in, JSON out, like control_api.h: the REST
// routes and `loam endpoints` on a local data directory call these.
//
// Deploying checks the model can be served: a tuned model's adapter must
// load onto its base, and its chat template and eos ids must be the base's
// (refused with the reason otherwise). With an engine (in the server) the
// base is loaded at deploy time and on every server start
// (endpoints_restore), so deployed models come back up after a restart.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "serve/control_api.h"

namespace loam {

// An endpoint by id, resource name (".../endpoints/ID") or display name.
std::optional<EndpointRecord> endpoint_find(Store& store, const std::string& ref);
// The deployed model a request with `seed` goes to: percentages of the
// traffic split over the deployed models in id order, the same seed always
// landing on the same one. Throws FailedPrecondition (naming `field`) when
// the endpoint takes no traffic.
DeployedModelRecord endpoint_route(const EndpointRecord& e, uint64_t seed, const std::string& field);

nlohmann::json endpoint_to_rest(const EndpointRecord& e, const ApiScope& s);

nlohmann::json api_endpoint_create(ControlContext& c, const ApiScope& s, const nlohmann::json& body);
nlohmann::json api_endpoint_get(ControlContext& c, const ApiScope& s, const std::string& ref);
nlohmann::json api_endpoint_list(ControlContext& c, const ApiScope& s);
nlohmann::json api_endpoint_delete(ControlContext& c, const ApiScope& s, const std::string& ref);
// {deployedModel: {model, displayName, dedicatedResources: {minReplicaCount,
// maxReplicaCount}}, trafficSplit: {"0": percent, id: percent}} ("0" = the
// model being deployed). Without trafficSplit the first deployed model takes
// all traffic and later ones none.
nlohmann::json api_endpoint_deploy(ControlContext& c, const ApiScope& s, const std::string& ref, const nlohmann::json& body);
// {deployedModelId, trafficSplit?}: the remaining models' split is kept
// (renormalized to 100 when the removed one had traffic).
nlohmann::json api_endpoint_undeploy(ControlContext& c, const ApiScope& s, const std::string& ref, const nlohmann::json& body);
// {deployedModel: {id, dedicatedResources: {minReplicaCount, maxReplicaCount}}}
nlohmann::json api_endpoint_mutate(ControlContext& c, const ApiScope& s, const std::string& ref, const nlohmann::json& body);
// PATCH {displayName?, description?, labels?, trafficSplit?}
nlohmann::json api_endpoint_patch(ControlContext& c, const ApiScope& s, const std::string& ref, const nlohmann::json& body);

// Loads the base of every deployed model (server start). Errors are printed,
// not thrown: one unloadable model does not keep the server down.
void endpoints_restore(ControlContext& c);

// Sets each served base's replica bounds from the deployed models on it:
// the largest minReplicaCount and the largest maxReplicaCount among them
// (the replicas of a base serve every model on it); bases deployed nowhere
// keep one replica. Called after every deploy, undeploy and mutate.
void endpoints_replicas_sync(ControlContext& c);

// Gives every tuning job that succeeded at or after `since` (RFC 3339) an
// endpoint serving its tuned model (labelled tuning_job=<job id>; the job's
// tunedModel.endpoint names it), unless it has one. The server calls this
// while it runs; returns how many endpoints it created.
int endpoints_for_tuned_jobs(ControlContext& c, const std::string& since);

}  // namespace loam
