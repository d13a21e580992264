// Resolving what a user names as a model: a registered model's id, its
// resource name (projects/{p}/locations/{l}/models/{id}), its display name,
// each optionally with @version or @alias; or a path to a checkpoint, which
// is imported (registered once, by content) so that lineage can name it.
#pragma once

#include <functional>
#include <string>

#include "registry/records.h"
#include "registry/store.h"

namespace loam {

struct ModelRef {
  std::string id;        // "" when the reference is not a registered name
  std::string selector;  // after '@': a version number or an alias; "" = default
};

// Splits "projects/p/locations/l/models/123@2" or "123@default" or "name".
ModelRef model_ref_parse(const std::string& ref);

// Looks `ref` up; when nothing registered matches and `path_of` is given, it
// maps the reference to a local path (confined by the caller) which is then
// imported. Throws NotFound naming `field` otherwise; InvalidArgument when a
// display name is ambiguous.
ModelRecord model_resolve(Store& store, const std::string& ref, const std::string& field,
                          const std::function<std::string(const std::string&)>& path_of = nullptr);

// Throws FailedPrecondition naming `field` when what a model version needs on
// disk is gone: a tuned version's adapter (adapter_model.safetensors; a
// checkpoint version whose directory was pruned or removed after the job
// registered it) or an imported model's artifact.
void model_artifact_check(const ModelRecord& m, const std::string& field);

// "projects/{project}/locations/{location}/models/{id}" (project and
// location as the caller was addressed; "local"/"local" otherwise).
std::string model_resource_name(const ModelRecord& m, const std::string& project = "local",
                                const std::string& location = "local");

}  // namespace loam
