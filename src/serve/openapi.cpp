// The OpenAPI 3 document /openapi.json serves, written out by hand from the
// API this server implements (tests/serve checks that every route the
// server registers appears here, with its method).
#include "serve/routes.h"

namespace loam {

using nlohmann::json;

namespace {

struct Op {
  const char* method;
  const char* path;  // after the version prefix, or absolute when it starts with "/health" etc.
  const char* summary;
};

const Op kManagedOps[] = {
    {"post", "/projects/{project}/locations/{location}/tuningJobs", "Create a supervised tuning job"},
    {"post", "/projects/{project}/locations/{location}/pipelineJobs", "Create a tuning job from the open-model pipeline's parameterValues"},
    {"get", "/projects/{project}/locations/{location}/pipelineJobs/{id}", "Get a pipeline job (a tuning job in the PipelineJob shape)"},
    {"get", "/projects/{project}/locations/{location}/tuningJobs", "List tuning jobs (filter, pageSize, pageToken)"},
    {"get", "/projects/{project}/locations/{location}/tuningJobs/{id}", "Get a tuning job"},
    {"post", "/projects/{project}/locations/{location}/tuningJobs/{id}:cancel", "Cancel a tuning job (checkpoints are kept)"},
    {"post", "/projects/{project}/locations/{location}/tuningJobs/{id}:pause", "Pause a tuning job at a checkpoint"},
    {"post", "/projects/{project}/locations/{location}/tuningJobs/{id}:resume", "Resume a paused tuning job"},
    {"get", "/projects/{project}/locations/{location}/tuningJobs/{id}/events", "A tuning job's events (afterId)"},
    {"get", "/projects/{project}/locations/{location}/tuningJobs/{id}/metrics", "A tuning job's metrics per step"},
    {"get", "/projects/{project}/locations/{location}/models", "List models (filter, orderBy, pageSize, pageToken); registered ones with metadata.memoryBytes, then the catalog"},
    {"post", "/projects/{project}/locations/{location}/models:upload", "Register a model from artifactUri"},
    {"get", "/projects/{project}/locations/{location}/models/{model}", "Get a model (id, name, @version or @alias), with its chat template and memory to tune and serve (metadata.memoryBytes)"},
    {"patch", "/projects/{project}/locations/{location}/models/{model}", "Change display name, description, labels"},
    {"delete", "/projects/{project}/locations/{location}/models/{model}", "Delete a model (force=true while used)"},
    {"get", "/projects/{project}/locations/{location}/models/{model}:listVersions", "A model's versions (a tuned model: the exported adapter, then each checkpoint kept)"},
    {"get", "/projects/{project}/locations/{location}/models/{model}/evaluations", "A model's evaluations (ModelEvaluation), every version"},
    {"post", "/projects/{project}/locations/{location}/endpoints", "Create an endpoint"},
    {"get", "/projects/{project}/locations/{location}/endpoints", "List endpoints"},
    {"get", "/projects/{project}/locations/{location}/endpoints/{endpoint}", "Get an endpoint (deployedModels, trafficSplit)"},
    {"patch", "/projects/{project}/locations/{location}/endpoints/{endpoint}", "Change display name, labels, trafficSplit"},
    {"delete", "/projects/{project}/locations/{location}/endpoints/{endpoint}", "Delete an endpoint with no deployed models"},
    {"post", "/projects/{project}/locations/{location}/endpoints/{endpoint}:deployModel", "Deploy a base or tuned model (replicas, trafficSplit)"},
    {"post", "/projects/{project}/locations/{location}/endpoints/{endpoint}:undeployModel", "Undeploy a deployed model"},
    {"post", "/projects/{project}/locations/{location}/endpoints/{endpoint}:mutateDeployedModel", "Change a deployed model's replica counts"},
    {"post", "/projects/{project}/locations/{location}/endpoints/{endpoint}:predict", "instances/parameters -> predictions"},
    {"post", "/projects/{project}/locations/{location}/endpoints/{endpoint}:generateContent", "Generate (contents, systemInstruction, generationConfig)"},
    {"post", "/projects/{project}/locations/{location}/endpoints/{endpoint}:streamGenerateContent", "Generate, streamed (alt=sse: SSE; else a JSON array)"},
    {"post", "/projects/{project}/locations/{location}/publishers/{publisher}/models/{model}:generateContent", "Generate with a registered model by name"},
    {"post", "/projects/{project}/locations/{location}/publishers/{publisher}/models/{model}:streamGenerateContent", "Generate with a registered model, streamed"},
    {"post", "/projects/{project}/locations/{location}/datasets:inspect", "Validate a dataset: issues by file/line/field, token statistics, rendered samples"},
    {"post", "/projects/{project}/locations/{location}/datasets:split", "Split a dataset into new train and validation files"},
    {"post", "/projects/{project}/locations/{location}/tuningJobs:plan", "A tuning job's plan (steps, memory, time) before submitting it"},
    {"post", "/projects/{project}/locations/{location}/models/{model}:evaluate", "Evaluate a model (tuned: base vs tuned) on a test file; recorded"},
};

const Op kRootOps[] = {
    {"get", "/health", "Ready check (no key needed)"},
    {"get", "/", "The web console (no key needed; it asks for the key)"},
    {"get", "/console/{file}", "The web console's static files"},
    {"get", "/openapi.json", "This document"},
    {"get", "/metrics", "Prometheus metrics (requests and latency by route and endpoint, TTFT, tokens, queue, batch, adapters, replicas)"},
    {"get", "/v1/inference/replicas", "Replica processes per served base (bounds, state, running requests) and replica events"},
    {"post", "/v1/chat/completions", "OpenAI chat completion (stream, n, stop, seed, logprobs, response_format enum)"},
    {"post", "/v1/completions", "OpenAI text completion"},
    {"get", "/v1/models", "Models and endpoints a request may name (tuned models with their parent)"},
    {"post", "/v1/files", "Upload a fine-tuning file (multipart: file, purpose=fine-tune)"},
    {"get", "/v1/files", "List files"},
    {"get", "/v1/files/{file_id}", "Get a file"},
    {"get", "/v1/files/{file_id}/content", "A file's content"},
    {"delete", "/v1/files/{file_id}", "Delete a file"},
    {"post", "/v1/fine_tuning/jobs", "Create a fine-tuning job (OpenAI shape)"},
    {"get", "/v1/fine_tuning/jobs", "List fine-tuning jobs (after, limit)"},
    {"get", "/v1/fine_tuning/jobs/{job_id}", "Get a fine-tuning job"},
    {"post", "/v1/fine_tuning/jobs/{job_id}/cancel", "Cancel a fine-tuning job"},
    {"post", "/v1/fine_tuning/jobs/{job_id}/pause", "Pause a fine-tuning job"},
    {"post", "/v1/fine_tuning/jobs/{job_id}/resume", "Resume a fine-tuning job"},
    {"get", "/v1/fine_tuning/jobs/{job_id}/events", "A fine-tuning job's events, newest first"},
    {"get", "/v1/fine_tuning/jobs/{job_id}/checkpoints", "A fine-tuning job's checkpoints"},
};

json parameters_of(const std::string& path) {
  json ps = json::array();
  for (size_t i = path.find('{'); i != std::string::npos; i = path.find('{', i + 1)) {
    const std::string name = path.substr(i + 1, path.find('}', i) - i - 1);
    ps.push_back({{"name", name}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}});
  }
  return ps;
}

void add(json& paths, const std::string& path, const Op& op) {
  paths[path][op.method] = {
      {"summary", op.summary},
      {"parameters", parameters_of(path)},
      {"responses",
       {{"200", {{"description", "OK"}, {"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}}},
        {"default", {{"description", "Error"},
                     {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}}}}}};
}

}  // namespace

json openapi_document() {
  json paths = json::object();
  for (const char* v : {"/v1", "/v1beta1"})
    for (const Op& op : kManagedOps) add(paths, std::string(v) + op.path, op);
  for (const Op& op : kRootOps) add(paths, op.path, op);
  return {{"openapi", "3.0.3"},
          {"info", {{"title", "Loam control plane"}, {"version", "0.1.0"}}},
          {"components",
           {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}},
                                 {"googApiKey", {{"type", "apiKey"}, {"in", "header"}, {"name", "x-goog-api-key"}}}}},
            {"schemas",
             {{"Error",
               {{"type", "object"},
                {"properties",
                 {{"error", {{"type", "object"},
                             {"properties", {{"code", {{"type", "integer"}}},
                                             {"message", {{"type", "string"}}},
                                             {"status", {{"type", "string"}}}}}}}}}}}}}}},
          {"security", json::array({{{"bearer", json::array()}}, {{"googApiKey", json::array()}}})},
          {"paths", paths}};
}

}  // namespace loam
