// OpenAI-compatible fine-tuning (api_openai.h).
#include "serve/api_openai.h"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <set>

#include "core/file_io.h"
#include "registry/data_dir.h"
#include "registry/digest.h"
#include "registry/errors.h"
#include "registry/model_ref.h"
#include "serve/request_fields.h"

namespace loam {

using nlohmann::json;

namespace {

namespace fs = std::filesystem;

int64_t unix_of(const std::string& rfc3339) {
  if (rfc3339.size() < 19) return 0;
  std::tm t{};
  strptime(rfc3339.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &t);
  return static_cast<int64_t>(timegm(&t));
}

json file_to_openai(const DatasetRecord& d) {
  return {{"id", d.id},         {"object", "file"},          {"bytes", d.size_bytes}, {"created_at", unix_of(d.create_time)},
          {"filename", d.filename}, {"purpose", d.purpose}, {"status", "processed"}, {"status_details", nullptr}};
}

DatasetRecord file_or_throw(ControlContext& c, const std::string& id, const std::string& field) {
  auto d = c.store.dataset_get(id);
  if (!d) throw error_not_found(field, "no such file '" + id + "'");
  return *d;
}

std::string job_id_of(const std::string& id) { return id.rfind("ftjob-", 0) == 0 ? id.substr(6) : id; }

const char* openai_status(const std::string& state) {
  if (state == "JOB_STATE_QUEUED" || state == "JOB_STATE_PENDING") return "queued";
  if (state == "JOB_STATE_RUNNING" || state == "JOB_STATE_CANCELLING") return "running";
  if (state == "JOB_STATE_SUCCEEDED") return "succeeded";
  if (state == "JOB_STATE_FAILED") return "failed";
  if (state == "JOB_STATE_CANCELLED") return "cancelled";
  return "paused";
}

json job_to_openai(ControlContext& c, const JobRecord& j) {
  const TuningSpec s = tuning_spec_from_json(j.spec);
  json hp = {{"n_epochs", s.epochs > 0 ? json(s.epochs) : json("auto")},
             {"batch_size", s.batch_size},
             {"learning_rate_multiplier", s.learning_rate_multiplier}};
  json method = {{"type", "supervised"}, {"supervised", {{"hyperparameters", hp}}}};
  if (s.extra.contains("preference")) {
    json dpo_hp = hp;
    dpo_hp["beta"] = s.extra["preference"].value("beta", 0.1);
    method = {{"type", "dpo"}, {"dpo", {{"hyperparameters", dpo_hp}}}};
  }
  json r = {{"id", "ftjob-" + j.id},
            {"object", "fine_tuning.job"},
            {"model", s.extra.value("base_model_ref", j.base_model)},
            {"created_at", unix_of(j.create_time)},
            {"finished_at", j.end_time.empty() ? json(nullptr) : json(unix_of(j.end_time))},
            {"fine_tuned_model", nullptr},
            {"organization_id", "org-loam"},
            {"result_files", json::array()},
            {"status", openai_status(j.state)},
            {"training_file", s.train_dataset_id},
            {"validation_file", s.validation_dataset_id.empty() ? json(nullptr) : json(s.validation_dataset_id)},
            {"hyperparameters", hp},
            {"method", method},
            {"seed", s.seed},
            {"trained_tokens", nullptr},
            {"error", nullptr},
            {"estimated_finish", nullptr},
            {"integrations", json::array()},
            {"metadata", j.labels.empty() ? json(nullptr) : json(j.labels)},
            {"user_provided_suffix", s.extra.contains("suffix") ? s.extra["suffix"] : json(nullptr)}};
  if (!j.tuned_model_id.empty()) {
    auto m = c.store.model_get(j.tuned_model_id);
    r["fine_tuned_model"] = m ? m->display_name : j.tuned_model_id;
  }
  if (!j.error_message.empty()) r["error"] = {{"code", j.error_code}, {"message", j.error_message}, {"param", nullptr}};
  return r;
}

// "auto" or a value; returns false for "auto" / absent.
template <typename T>
bool hp_value(const json& hp, const char* key, T& out, const std::string& path) {
  auto it = hp.find(key);
  if (it == hp.end() || it->is_null() || (it->is_string() && *it == "auto")) return false;
  if (!it->is_number()) throw error_invalid(field_path(path, key), "must be a number or \"auto\"");
  out = it->get<T>();
  return true;
}

}  // namespace

json openai_file_upload(ControlContext& c, const std::string& filename, const std::string& purpose,
                        const std::string& content) {
  if (purpose.empty()) throw error_invalid("purpose", "is required (fine-tune)");
  if (purpose != "fine-tune") throw error_invalid("purpose", "only \"fine-tune\" files are kept here");
  if (content.empty()) throw error_invalid("file", "is empty");
  DatasetRecord d;
  d.id = "file-" + id_new();
  d.filename = fs::path(filename.empty() ? "upload.jsonl" : filename).filename().string();
  d.purpose = purpose;
  d.sha256 = sha256_string(content);
  d.size_bytes = static_cast<int64_t>(content.size());
  d.create_time = time_now_rfc3339();
  dir_make_all(c.store.data_dir() + "/datasets");
  d.path = c.store.data_dir() + "/datasets/" + d.id + ".jsonl";
  file_write_atomic(d.path, content);  // the file is in place before its row
  c.store.dataset_insert(d);
  return file_to_openai(d);
}

json openai_files_list(ControlContext& c) {
  json data = json::array();
  for (const auto& d : c.store.dataset_list()) data.push_back(file_to_openai(d));
  return {{"object", "list"}, {"data", data}, {"has_more", false}};
}

json openai_file_get(ControlContext& c, const std::string& id) { return file_to_openai(file_or_throw(c, id, "file_id")); }

std::string openai_file_content(ControlContext& c, const std::string& id) {
  return file_read_all(file_or_throw(c, id, "file_id").path);
}

json openai_file_delete(ControlContext& c, const std::string& id) {
  DatasetRecord d = file_or_throw(c, id, "file_id");
  c.store.dataset_delete(id);
  std::error_code ec;
  fs::remove(d.path, ec);
  return {{"id", id}, {"object", "file"}, {"deleted", true}};
}

json openai_job_create(ControlContext& c, const json& body) {
  fields_allow(body, {"model", "training_file", "validation_file", "suffix", "seed", "hyperparameters", "method",
                      "metadata", "integrations"}, "");
  TuningJobRequest r;
  r.api = "openai";
  r.base_model = field_string(body, "model", "").value_or("");
  if (r.base_model.empty()) throw error_invalid("model", "is required");
  const std::string train = field_string(body, "training_file", "").value_or("");
  if (train.empty()) throw error_invalid("training_file", "is required");
  r.spec.train_uri = file_or_throw(c, train, "training_file").path;
  if (auto v = field_string(body, "validation_file", ""); v && !v->empty())
    r.spec.validation_uri = file_or_throw(c, *v, "validation_file").path;
  const std::string suffix = field_string(body, "suffix", "").value_or("");
  if (suffix.size() > 64) throw error_invalid("suffix", "is longer than 64 characters");
  if (auto seed = field_int(body, "seed", "")) r.spec.seed = static_cast<uint64_t>(*seed);
  const json* hp = field_object(body, "hyperparameters", "");
  std::string hp_path = "hyperparameters";
  json dpo_hp;  // method.dpo.hyperparameters less beta
  if (const json* m = field_object(body, "method", "")) {
    fields_allow(*m, {"type", "supervised", "dpo"}, "method");
    const std::string type = field_string(*m, "type", "method").value_or("supervised");
    if (type != "supervised" && type != "dpo") throw error_invalid("method.type", "must be supervised or dpo");
    if (type == "dpo") {  // preference tuning: hyperparameters add beta
      r.spec.extra["preference"] = {{"loss", "sigmoid"}, {"beta", 0.1}};
      if (const json* d = field_object(*m, "dpo", "method")) {
        fields_allow(*d, {"hyperparameters"}, "method.dpo");
        if (const json* h = field_object(*d, "hyperparameters", "method.dpo")) {
          const std::string hpp = "method.dpo.hyperparameters";
          fields_allow(*h, {"n_epochs", "batch_size", "learning_rate_multiplier", "beta"}, hpp);
          if (h->contains("beta") && !(*h)["beta"].is_string()) {  // "auto" keeps the default
            const auto beta = field_number(*h, "beta", hpp);
            if (!beta || !(*beta > 0)) throw error_invalid(hpp + ".beta", "must be a number > 0 or \"auto\"");
            r.spec.extra["preference"]["beta"] = *beta;
          }
          json rest = *h;
          rest.erase("beta");
          dpo_hp = std::move(rest);
          hp = &dpo_hp;
          hp_path = hpp;
        }
      }
    } else if (const json* sup = field_object(*m, "supervised", "method")) {
      fields_allow(*sup, {"hyperparameters"}, "method.supervised");
      if (const json* h = field_object(*sup, "hyperparameters", "method.supervised")) {
        hp = h;
        hp_path = "method.supervised.hyperparameters";
      }
    }
  }
  if (hp) {
    fields_allow(*hp, {"n_epochs", "batch_size", "learning_rate_multiplier"}, hp_path);
    hp_value(*hp, "n_epochs", r.spec.epochs, hp_path);
    hp_value(*hp, "batch_size", r.spec.batch_size, hp_path);
    hp_value(*hp, "learning_rate_multiplier", r.spec.learning_rate_multiplier, hp_path);
    if (hp->contains("n_epochs") && (*hp)["n_epochs"].is_number() && r.spec.epochs < 1)
      throw error_invalid(hp_path + ".n_epochs", "must be at least 1");
  }
  if (const json* md = field_object(body, "metadata", ""))
    for (auto it = md->begin(); it != md->end(); ++it) {
      if (!it->is_string()) throw error_invalid("metadata." + it.key(), "must be a string");
      r.labels[it.key()] = it->get<std::string>();
    }
  r.spec.extra["base_model_ref"] = r.base_model;
  if (!suffix.empty()) r.spec.extra["suffix"] = suffix;
  ModelRecord base = model_resolve(c.store, r.base_model, "model");
  // "ft:BASE:loam[:SUFFIX]:XXXXXXXX", unique, as OpenAI names fine-tuned models.
  r.display_name = "ft:" + base.display_name + ":loam" + (suffix.empty() ? "" : ":" + suffix) + ":" +
                   id_new().substr(0, 8);
  JobRecord j = job_create(c.store, c.paths, r);
  if (c.on_job_change) c.on_job_change();
  return job_to_openai(c, job_get_or_throw(c.store, j.id));
}

json openai_jobs_list(ControlContext& c, const std::string& after, int limit) {
  std::vector<JobRecord> all = c.store.job_list();
  std::reverse(all.begin(), all.end());
  json data = json::array();
  bool started = after.empty(), more = false;
  for (const auto& j : all) {
    if (!started) {
      started = ("ftjob-" + j.id) == after;
      continue;
    }
    if (static_cast<int>(data.size()) >= limit) {
      more = true;
      break;
    }
    data.push_back(job_to_openai(c, j));
  }
  return {{"object", "list"}, {"data", data}, {"has_more", more}};
}

json openai_job_get(ControlContext& c, const std::string& id) {
  return job_to_openai(c, job_get_or_throw(c.store, job_id_of(id)));
}

json openai_job_action(ControlContext& c, const std::string& id, const std::string& action) {
  const std::string jid = job_id_of(id);
  JobRecord j = action == "cancel" ? job_cancel(c.store, jid)
              : action == "pause"  ? job_pause(c.store, jid)
                                   : job_resume(c.store, jid);
  if (c.on_job_change) c.on_job_change();
  return job_to_openai(c, j);
}

json openai_job_events(ControlContext& c, const std::string& id, int limit) {
  const std::string jid = job_id_of(id);
  job_get_or_throw(c.store, jid);
  auto events = c.store.events(jid, 0);
  json data = json::array();
  for (auto it = events.rbegin(); it != events.rend() && static_cast<int>(data.size()) < limit; ++it)
    data.push_back({{"object", "fine_tuning.job.event"}, {"id", "ftevent-" + std::to_string(it->id)},
                    {"created_at", unix_of(it->time)}, {"level", it->level == "warning" ? "warn" : it->level},
                    {"message", it->message}, {"type", "message"}, {"data", json::object()}});
  return {{"object", "list"}, {"data", data}, {"has_more", static_cast<int>(events.size()) > limit}};
}

json openai_job_checkpoints(ControlContext& c, const std::string& id) {
  const std::string jid = job_id_of(id);
  JobRecord j = job_get_or_throw(c.store, jid);
  json data = json::array();
  auto cps = c.store.checkpoints(jid);
  // A checkpoint the finished job kept is a version of its tuned model: its
  // name here is one a request can use as `model` ("NAME@checkpoint-<step>").
  std::set<std::string> aliases;
  std::string model_name;
  if (!j.tuned_model_id.empty())
    for (const ModelRecord& v : c.store.model_versions(j.tuned_model_id)) {
      model_name = v.version_id == 1 ? v.display_name : model_name;
      aliases.insert(v.aliases.begin(), v.aliases.end());
    }
  for (auto it = cps.rbegin(); it != cps.rend(); ++it) {
    const std::string alias = "checkpoint-" + std::to_string(it->step);
    const std::string name = aliases.count(alias) ? model_name + "@" + alias
                                                  : j.display_name + ":ckpt-step-" + std::to_string(it->step);
    json metrics = {{"step", it->step}};
    if (it->metrics.contains("loss")) metrics["train_loss"] = it->metrics["loss"];
    if (it->metrics.contains("val_loss")) metrics["valid_loss"] = it->metrics["val_loss"];
    data.push_back({{"object", "fine_tuning.job.checkpoint"},
                    {"id", "ftckpt-" + jid + "-" + std::to_string(it->step)},
                    {"created_at", unix_of(it->create_time)},
                    {"fine_tuned_model_checkpoint", name},
                    {"step_number", it->step},
                    {"metrics", metrics},
                    {"fine_tuning_job_id", "ftjob-" + jid}});
  }
  return {{"object", "list"}, {"data", data}, {"has_more", false},
          {"first_id", data.empty() ? json(nullptr) : data.front()["id"]},
          {"last_id", data.empty() ? json(nullptr) : data.back()["id"]}};
}

}  // namespace loam
