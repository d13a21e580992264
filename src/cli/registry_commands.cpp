// loam models list|get|import|upload|label|delete and loam jobs
// list|get|wait|cancel|pause|resume|events|metrics: on the local data
// directory or a server (cli/control_client.h). Flags bind here and nowhere
// else; `--output json` prints the REST API's JSON.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "cli/commands.h"
#include "cli/control_client.h"
#include "core/error.h"
#include "core/system.h"
#include "registry/data_dir.h"
#include "registry/hf_pull.h"
#include "registry/model_import.h"
#include "registry/store.h"

namespace loam::cli {
namespace {

using nlohmann::json;

void add_control_options(CLI::App* c, ControlOptions& o) {
  c->add_option("--data-dir", o.data_dir, "Data directory (env LOAM_DATA_DIR, default $LOAM_HOME or ~/.loam)");
  c->add_option("--server", o.server, "A loam server's URL (env LOAM_SERVER) instead of the local data directory");
  c->add_option("--api-key", o.api_key, "API key for --server (env LOAM_API_KEY)");
  c->add_option("--output", o.output, "table or json")->check(CLI::IsMember({"table", "json"}));
}

std::string short_time(const json& t) {
  std::string s = t.is_string() ? t.get<std::string>() : "";
  return s.size() >= 19 ? s.substr(0, 10) + " " + s.substr(11, 8) : s;
}

std::string id_of(const json& resource) {
  const std::string n = resource.value("name", "");
  const std::string garden = "publishers/hf/models/";  // the catalog: its Hugging Face id
  if (n.rfind(garden, 0) == 0) return n.substr(garden.size());
  return n.substr(n.rfind('/') + 1);
}

void print_models(const json& r, const std::string& output) {
  if (output == "json") {
    std::printf("%s\n", r.dump(2).c_str());
    return;
  }
  const json& models = r.contains("models") ? r["models"] : json::array({r});
  std::printf("%-28s %-4s %-28s %-8s %-30s %-10s %s\n", "ID", "VER", "DISPLAY NAME", "KIND", "ARCH", "SIZE", "CREATED");
  for (const auto& m : models) {
    const json meta = m.value("metadata", json::object());
    std::printf("%-28s %-4s %-28s %-8s %-30s %-10s %s\n", id_of(m).c_str(), m.value("versionId", "").c_str(),
                m.value("displayName", "").c_str(), meta.value("kind", "").c_str(),
                meta.value("architecture", "").c_str(),
                human_bytes(std::stoll(meta.value("sizeBytes", "0"))).c_str(), short_time(m.value("createTime", json())).c_str());
  }
  if (r.contains("nextPageToken")) std::printf("next page: --page-token %s\n", r["nextPageToken"].get<std::string>().c_str());
}

void print_model_detail(const json& m, const std::string& output) {
  if (output == "json") {
    std::printf("%s\n", m.dump(2).c_str());
    return;
  }
  print_models(m, output);
  const json& meta = m["metadata"];
  std::printf("name: %s\nartifact: %s\n", m.value("name", "").c_str(), m.value("artifactUri", "").c_str());
  if (!m["labels"].empty()) std::printf("labels: %s\n", m["labels"].dump().c_str());
  if (meta.contains("lineage")) std::printf("lineage: %s\n", meta["lineage"].dump(2).c_str());
}

void print_jobs(const json& r, const std::string& output) {
  if (output == "json") {
    std::printf("%s\n", r.dump(2).c_str());
    return;
  }
  const json& jobs = r.contains("tuningJobs") ? r["tuningJobs"] : json::array({r});
  std::printf("%-20s %-22s %-24s %-24s %s\n", "ID", "STATE", "BASE MODEL", "TUNED MODEL NAME", "CREATED");
  for (const auto& j : jobs)
    std::printf("%-20s %-22s %-24s %-24s %s\n", id_of(j).c_str(), j.value("state", "").c_str(),
                j.value("baseModel", "").substr(0, 24).c_str(), j.value("tunedModelDisplayName", "").c_str(),
                short_time(j["createTime"]).c_str());
  if (r.contains("nextPageToken")) std::printf("next page: --page-token %s\n", r["nextPageToken"].get<std::string>().c_str());
}

void print_job_detail(const json& j, const std::string& output) {
  print_jobs(j, output);
  if (output == "json") return;
  if (j.contains("error")) std::printf("error: %s\n", j["error"].value("message", "").c_str());
  if (j.contains("tunedModel") && j["tunedModel"].contains("model"))
    std::printf("tuned model: %s\n", j["tunedModel"]["model"].get<std::string>().c_str());
}

bool terminal(const std::string& state) {
  return state == "JOB_STATE_SUCCEEDED" || state == "JOB_STATE_FAILED" || state == "JOB_STATE_CANCELLED";
}

struct ModelsFlags {
  ControlOptions o;
  ListParams list;
  std::string name, path, display_name, description, labels, remove, revision = "main";
  bool force = false;
};

// `loam models pull`: the repository's files into DATA_DIR/downloads/<id>/<rev>
// (resumable: a rerun continues partial files), then registered like an
// import (the same files give the same model).
void run_models_pull(const ModelsFlags& f) {
  if (!f.o.server.empty())
    throw Error("--server", "models pull downloads into the local data directory",
                "run it on the server's machine with --data-dir set to the server's data directory");
  if (f.name.find('/') == std::string::npos || f.name.find("..") != std::string::npos)
    throw Error("HF_ID", "'" + f.name + "' is not a Hugging Face repository id", "e.g. HuggingFaceTB/SmolLM2-135M-Instruct");
  HfPullRequest req;
  req.repo_id = f.name;
  req.revision = f.revision;
  req.target_dir = data_dir_resolve(f.o.data_dir) + "/downloads/" + f.name + "/" + f.revision;
  const bool tty = isatty(fileno(stderr));
  HfPullResult r = hf_pull(req, [tty](const HfPullProgress& p) {
    if (!tty || p.file.empty()) return;
    std::fprintf(stderr, "\r\033[K%s  %d/%d files  %s / %s", p.file.c_str(), p.file_index, p.n_files,
                 human_bytes(p.done).c_str(), human_bytes(p.total).c_str());
  });
  if (tty) std::fprintf(stderr, "\n");
  std::fprintf(stderr, "pulled %s@%s (%zu files, %s downloaded) into %s\n", r.repo_id.c_str(), r.commit.c_str(),
               r.files.size(), human_bytes(r.bytes_downloaded).c_str(), r.dir.c_str());
  // Registered directly (not through models:upload) so that the source is
  // the hub repository at the commit it resolved to, not the download folder.
  ModelImportRequest imp;
  imp.path = std::filesystem::absolute(r.dir).string();
  imp.source_uri = "hf://" + r.repo_id + "@" + (r.commit.empty() ? r.revision : r.commit);
  imp.display_name = f.display_name.empty() ? f.name : f.display_name;
  imp.description = f.description;
  imp.labels = f.labels.empty() ? Labels{} : labels_parse(f.labels, "--labels");
  std::string id;
  {
    auto store = store_open(data_dir_resolve(f.o.data_dir));
    id = model_import(*store, imp).model.id;
  }
  auto client = control_client_open(f.o);
  print_model_detail(client->model_get(id), f.o.output);
}

struct JobsFlags {
  ControlOptions o;
  ListParams list;
  std::string id;
  double timeout_s = 0;
  int64_t after = 0;
};

void register_models(CLI::App& app) {
  static ModelsFlags f;
  auto* models = app.add_subcommand("models", "The model registry: imported checkpoints and tuned models");
  models->require_subcommand(1);

  auto* list = models->add_subcommand("list", "List models");
  add_control_options(list, f.o);
  list->add_option("--filter", f.list.filter, "e.g. 'labels.family=\"gemma\" AND display_name>=\"a\"'");
  list->add_option("--order-by", f.list.order_by, "display_name|create_time|update_time [asc|desc]");
  list->add_option("--page-size", f.list.page_size, "Models per page");
  list->add_option("--page-token", f.list.page_token, "From the previous page");
  list->callback([] { print_models(control_client_open(f.o)->models_list(f.list), f.o.output); });

  auto* get = models->add_subcommand("get", "Show a model (id, display name, resource name, @version/@alias)");
  add_control_options(get, f.o);
  get->add_option("NAME", f.name)->required();
  get->callback([] { print_model_detail(control_client_open(f.o)->model_get(f.name), f.o.output); });

  auto* versions = models->add_subcommand("versions", "A model's versions (a tuned model: the exported adapter, then each checkpoint kept)");
  add_control_options(versions, f.o);
  versions->add_option("NAME", f.name)->required();
  versions->callback([] {
    json r = control_client_open(f.o)->model_versions(f.name);
    if (f.o.output == "json") return (void)std::printf("%s\n", r.dump(2).c_str());
    std::printf("%-4s %-24s %-10s %-19s %s\n", "VER", "ALIASES", "SIZE", "CREATED", "ARTIFACT");
    for (const auto& m : r["models"]) {
      std::string aliases;
      for (const auto& a : m.value("versionAliases", json::array())) aliases += (aliases.empty() ? "" : ",") + a.get<std::string>();
      std::printf("%-4s %-24s %-10s %-19s %s\n", m.value("versionId", "").c_str(), aliases.c_str(),
                  human_bytes(std::stoll(m["metadata"].value("sizeBytes", "0"))).c_str(),
                  short_time(m.value("versionCreateTime", json())).c_str(), m.value("artifactUri", "").c_str());
    }
  });

  auto import_body = [] {
    json m = {{"artifactUri", f.path}};
    if (!f.display_name.empty()) m["displayName"] = f.display_name;
    if (!f.description.empty()) m["description"] = f.description;
    if (!f.labels.empty()) m["labels"] = labels_parse(f.labels, "--labels");
    return json{{"model", m}};
  };
  auto imported = [](const json& op) {
    const std::string name = op["response"]["model"];
    print_model_detail(control_client_open(f.o)->model_get(name), f.o.output);
  };
  auto* imp = models->add_subcommand("import", "Register a Hugging Face directory or GGUF file (same files, same model)");
  add_control_options(imp, f.o);
  imp->add_option("PATH", f.path, "Directory, .gguf, file:// or gs:// URI")->required();
  imp->add_option("--display-name", f.display_name, "Display name (default: the file name)");
  imp->add_option("--description", f.description, "Description");
  imp->add_option("--labels", f.labels, "k=v,k2=v2");
  imp->callback([import_body, imported] {
    if (f.path.find("://") == std::string::npos) f.path = std::filesystem::absolute(f.path).string();
    imported(control_client_open(f.o)->model_upload(import_body()));
  });

  auto* pull = models->add_subcommand("pull", "Download a Hugging Face repository (HF_ENDPOINT, HF_TOKEN honoured) and register it");
  add_control_options(pull, f.o);
  pull->add_option("HF_ID", f.name, "Repository id, e.g. HuggingFaceTB/SmolLM2-135M-Instruct")->required();
  pull->add_option("--revision", f.revision, "Branch, tag or commit")->capture_default_str();
  pull->add_option("--display-name", f.display_name, "Display name (default: the repository id)");
  pull->add_option("--description", f.description, "Description");
  pull->add_option("--labels", f.labels, "k=v,k2=v2");
  pull->callback([] { run_models_pull(f); });

  auto* up = models->add_subcommand("upload", "Register a model from --artifact-uri (the managed service's name)");
  add_control_options(up, f.o);
  up->add_option("--artifact-uri", f.path, "gs://bucket/dir/, file:// or a path")->required();
  up->add_option("--display-name", f.display_name, "Display name");
  up->add_option("--description", f.description, "Description");
  up->add_option("--labels", f.labels, "k=v,k2=v2");
  up->callback([import_body, imported] { imported(control_client_open(f.o)->model_upload(import_body())); });

  auto* label = models->add_subcommand("label", "Set (k=v,...) or remove (--remove k,...) labels");
  add_control_options(label, f.o);
  label->add_option("NAME", f.name)->required();
  label->add_option("LABELS", f.labels, "k=v,k2=v2");
  label->add_option("--remove", f.remove, "Keys to remove, comma-separated");
  label->callback([] {
    json body = json::object();
    if (!f.labels.empty()) body["labels"] = labels_parse(f.labels, "LABELS");
    if (!f.remove.empty()) {
      json keys = json::array();
      size_t i = 0;
      while (i <= f.remove.size()) {
        size_t j = f.remove.find(',', i);
        if (j == std::string::npos) j = f.remove.size();
        if (j > i) keys.push_back(f.remove.substr(i, j - i));
        i = j + 1;
      }
      body["removeLabels"] = keys;
    }
    print_model_detail(control_client_open(f.o)->model_patch(f.name, body), f.o.output);
  });

  auto* del = models->add_subcommand("delete", "Delete a model (refused while a job uses it, unless --force)");
  add_control_options(del, f.o);
  del->add_option("NAME", f.name)->required();
  del->add_flag("--force", f.force, "Delete even while a job uses it");
  del->callback([] {
    json r = control_client_open(f.o)->model_delete(f.name, f.force);
    if (f.o.output == "json") std::printf("%s\n", r.dump(2).c_str());
    else std::printf("deleted %s\n", f.name.c_str());
  });
}

void register_jobs(CLI::App& app) {
  static JobsFlags f;
  auto* jobs = app.add_subcommand("jobs", "Tuning jobs: list, follow, cancel, pause, resume");
  jobs->require_subcommand(1);

  auto* list = jobs->add_subcommand("list", "List tuning jobs, newest first");
  add_control_options(list, f.o);
  list->add_option("--filter", f.list.filter, "e.g. 'state=JOB_STATE_RUNNING'");
  list->add_option("--page-size", f.list.page_size, "Jobs per page");
  list->add_option("--page-token", f.list.page_token, "From the previous page");
  list->callback([] { print_jobs(control_client_open(f.o)->jobs_list(f.list), f.o.output); });

  auto* get = jobs->add_subcommand("get", "Show a tuning job");
  add_control_options(get, f.o);
  get->add_option("JOB", f.id)->required();
  get->callback([] { print_job_detail(control_client_open(f.o)->job_get(f.id), f.o.output); });

  for (const char* action : {"cancel", "pause", "resume"}) {
    auto* a = jobs->add_subcommand(action, std::string(action) + " a tuning job");
    add_control_options(a, f.o);
    a->add_option("JOB", f.id)->required();
    a->callback([action] { print_job_detail(control_client_open(f.o)->job_action(f.id, action), f.o.output); });
  }

  auto* wait = jobs->add_subcommand("wait", "Wait until a job finishes; exit 0 only if it succeeded");
  add_control_options(wait, f.o);
  wait->add_option("JOB", f.id)->required();
  wait->add_option("--timeout", f.timeout_s, "Give up after this many seconds (0 = never)");
  wait->callback([] {
    auto c = control_client_open(f.o);
    const auto start = std::chrono::steady_clock::now();
    int64_t seen = 0;
    for (;;) {
      if (f.o.output != "json")
        for (const auto& e : c->job_events(f.id, seen)["events"]) {
          std::fprintf(stderr, "%s %s\n", short_time(e["time"]).c_str(), e.value("message", "").c_str());
          seen = std::stoll(e.value("id", "0"));
        }
      json j = c->job_get(f.id);
      if (terminal(j.value("state", ""))) {
        print_job_detail(j, f.o.output);
        if (j["state"] != "JOB_STATE_SUCCEEDED") throw Error("job " + f.id, "finished in state " + j["state"].get<std::string>());
        return;
      }
      const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (f.timeout_s > 0 && waited > f.timeout_s)
        throw Error("job " + f.id, "still " + j["state"].get<std::string>() + " after " + std::to_string(static_cast<int>(waited)) + " s");
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  });

  auto* events = jobs->add_subcommand("events", "A job's events");
  add_control_options(events, f.o);
  events->add_option("JOB", f.id)->required();
  events->add_option("--after", f.after, "Only events after this id");
  events->callback([] {
    json r = control_client_open(f.o)->job_events(f.id, f.after);
    if (f.o.output == "json") return (void)std::printf("%s\n", r.dump(2).c_str());
    for (const auto& e : r["events"])
      std::printf("%-6s %s %-7s %s\n", e.value("id", "").c_str(), short_time(e["time"]).c_str(),
                  e.value("level", "").c_str(), e.value("message", "").c_str());
  });

  auto* metrics = jobs->add_subcommand("metrics", "A job's metrics, one line per step");
  add_control_options(metrics, f.o);
  metrics->add_option("JOB", f.id)->required();
  metrics->callback([] {
    json r = control_client_open(f.o)->job_metrics(f.id);
    if (f.o.output == "json") return (void)std::printf("%s\n", r.dump(2).c_str());
    // The objective's own figures (preference tuning: rewards and log-probs) as
    // further columns, the step's then the validation pass's ("val " + name).
    std::vector<std::pair<std::string, std::string>> named;  // (object, name)
    for (const char* group : {"objectiveMetrics", "validationObjectiveMetrics"})
      for (const auto& m : r["metrics"]) {
        const json values = m.value(group, json::object());
        for (const auto& [name, v] : values.items())
          if (std::find(named.begin(), named.end(), std::make_pair(std::string(group), name)) == named.end())
            named.emplace_back(group, name);
      }
    auto header = [](const std::pair<std::string, std::string>& n) {
      return (n.first == "validationObjectiveMetrics" ? "val " : "") + n.second;
    };
    std::printf("%6s %8s %10s %8s %10s %10s %10s", "STEP", "EPOCH", "LOSS", "ACC", "LR", "TOK/S", "VAL LOSS");
    for (const auto& n : named) std::printf(" %*s", static_cast<int>(std::max<size_t>(10, header(n).size())), header(n).c_str());
    std::printf("\n");
    for (const auto& m : r["metrics"]) {
      std::printf("%6lld %8.3f %10.4f %8.3f %10.2e %10.0f %10s", m["step"].get<long long>(), m["epoch"].get<double>(),
                  m["loss"].get<double>(), m["tokenAccuracy"].get<double>(), m["learningRate"].get<double>(),
                  m["tokensPerSecond"].get<double>(),
                  m.contains("validationLoss") ? std::to_string(m["validationLoss"].get<double>()).substr(0, 8).c_str() : "");
      for (const auto& n : named) {
        const json group = m.value(n.first, json::object());
        char cell[32] = "";
        if (group.contains(n.second)) std::snprintf(cell, sizeof cell, "%.4f", group[n.second].get<double>());
        std::printf(" %*s", static_cast<int>(std::max<size_t>(10, header(n).size())), cell);
      }
      std::printf("\n");
    }
  });
}

}  // namespace

void register_registry_commands(CLI::App& app) {
  register_models(app);
  register_jobs(app);
}

}  // namespace loam::cli
