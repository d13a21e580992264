// Store over one SQLite database in the data directory (registry.db). One
// connection per process guarded by a mutex; writes take the database's
// write lock up front (BEGIN IMMEDIATE) so the server and workers interleave
// safely.
#include <sys/stat.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>
#include <random>

#include "registry/errors.h"
#include "registry/migrations.h"
#include "registry/sqlite_db.h"
#include "registry/store.h"

namespace loam {
namespace {

using nlohmann::json;

const char* kModelColumns =
    "id, version_id, display_name, description, kind, format, source_uri, artifact_path, architecture, "
    "size_bytes, content_digest, files_json, chat_template, labels_json, base_model_id, base_version_id, "
    "job_id, lineage_json, create_time, update_time";

json files_to_json(const std::vector<ModelFile>& fs) {
  json a = json::array();
  for (const auto& f : fs) a.push_back({{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}});
  return a;
}

std::vector<ModelFile> files_from_json(const std::string& s) {
  std::vector<ModelFile> out;
  for (const auto& f : json::parse(s)) out.push_back({f.at("path"), f.at("size"), f.at("sha256")});
  return out;
}

json labels_to_json(const Labels& l) { return json(l); }
Labels labels_from_json(const std::string& s) { return json::parse(s).get<Labels>(); }

ModelRecord read_model(const SqliteStmt& st) {
  ModelRecord m;
  m.id = st.text(0);
  m.version_id = static_cast<int>(st.i64(1));
  m.display_name = st.text(2);
  m.description = st.text(3);
  m.kind = st.text(4);
  m.format = st.text(5);
  m.source_uri = st.text(6);
  m.artifact_path = st.text(7);
  m.architecture = st.text(8);
  m.size_bytes = st.i64(9);
  m.content_digest = st.text(10);
  m.files = files_from_json(st.text(11));
  m.chat_template = st.text(12);
  m.labels = labels_from_json(st.text(13));
  m.base_model_id = st.text(14);
  m.base_version_id = static_cast<int>(st.i64(15));
  m.job_id = st.text(16);
  m.lineage = json::parse(st.text(17));
  m.create_time = st.text(18);
  m.update_time = st.text(19);
  return m;
}

const char* kJobColumns =
    "id, api, state, pause_requested, display_name, description, labels_json, base_model, base_version_id, "
    "spec_json, output_dir, error_code, error_message, tuned_model_id, worker_pid, attempts, create_time, "
    "start_time, end_time, update_time";

JobRecord read_job(const SqliteStmt& st) {
  JobRecord j;
  j.id = st.text(0);
  j.api = st.text(1);
  j.state = st.text(2);
  j.pause_requested = st.i64(3) != 0;
  j.display_name = st.text(4);
  j.description = st.text(5);
  j.labels = labels_from_json(st.text(6));
  j.base_model = st.text(7);
  j.base_version_id = static_cast<int>(st.i64(8));
  j.spec = json::parse(st.text(9));
  j.output_dir = st.text(10);
  j.error_code = st.text(11);
  j.error_message = st.text(12);
  j.tuned_model_id = st.text(13);
  j.worker_pid = st.i64(14);
  j.attempts = static_cast<int>(st.i64(15));
  j.create_time = st.text(16);
  j.start_time = st.text(17);
  j.end_time = st.text(18);
  j.update_time = st.text(19);
  return j;
}

const char* kEvaluationColumns =
    "id, display_name, model_id, model_version_id, job_id, checkpoint_id, system, data_uri, metrics_json, "
    "settings_json, results_path, create_time";

DatasetRecord read_dataset(const SqliteStmt& st) {
  return {st.text(0), st.text(1), st.text(2), st.text(3), st.text(4), st.i64(5), st.text(6)};
}

void make_dirs(const std::string& path) {
  std::string cur;
  for (size_t i = 0; i <= path.size(); i++) {
    if (i == path.size() || (path[i] == '/' && i > 0)) {
      cur = path.substr(0, i);
      if (mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
        throw Error(cur, std::string("cannot create the data directory: ") + std::strerror(errno));
    }
  }
}

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const std::string& dir) : dir_(dir), db_((make_dirs(dir), dir + "/registry.db")) {
    migrations_apply(db_);
  }

  const std::string& data_dir() const override { return dir_; }

  void model_insert(const ModelRecord& m) override {
    std::lock_guard lock(mu_);
    SqliteTxn txn(db_);
    insert_model_locked(m);
    txn.commit();
  }

  std::optional<ModelRecord> model_get(const std::string& id, int version) override {
    std::lock_guard lock(mu_);
    if (version == 0) {
      std::optional<int> v = alias_locked(id, "default");
      if (!v) {
        SqliteStmt st(db_, "SELECT MAX(version_id) FROM models WHERE id = ?");
        st.bind_all(id);
        if (!st.step() || st.is_null(0)) return std::nullopt;
        v = static_cast<int>(st.i64(0));
      }
      version = *v;
    }
    return model_get_locked(id, version);
  }

  std::optional<int> model_alias(const std::string& id, const std::string& alias) override {
    std::lock_guard lock(mu_);
    return alias_locked(id, alias);
  }

  std::optional<ModelRecord> model_by_digest(const std::string& digest) override {
    std::lock_guard lock(mu_);
    SqliteStmt st(db_, (std::string("SELECT ") + kModelColumns +
                        " FROM models WHERE content_digest = ? ORDER BY create_time LIMIT 1").c_str());
    st.bind_all(digest);
    if (!st.step()) return std::nullopt;
    ModelRecord m = read_model(st);
    fill_aliases_locked(m);
    return m;
  }

  std::vector<ModelRecord> model_list() override {
    std::lock_guard lock(mu_);
    // The default version of each model: its "default" alias, else its newest version.
    SqliteStmt st(db_, (std::string("SELECT ") + kModelColumns + " FROM models m WHERE version_id = COALESCE("
                        "(SELECT version_id FROM model_aliases a WHERE a.model_id = m.id AND a.alias = 'default'),"
                        "(SELECT MAX(version_id) FROM models n WHERE n.id = m.id)) ORDER BY create_time, id").c_str());
    std::vector<ModelRecord> out;
    while (st.step()) out.push_back(read_model(st));
    for (auto& m : out) fill_aliases_locked(m);
    return out;
  }

  std::vector<ModelRecord> model_versions(const std::string& id) override {
    std::lock_guard lock(mu_);
    SqliteStmt st(db_, (std::string("SELECT ") + kModelColumns + " FROM models WHERE id = ? ORDER BY version_id").c_str());
    st.bind_all(id);
    std::vector<ModelRecord> out;
    while (st.step()) out.push_back(read_model(st));
    for (auto& m : out) fill_aliases_locked(m);
    return out;
  }

  void model_update(const ModelRecord& m) override {
    std::lock_guard lock(mu_);
    SqliteStmt st(db_, "UPDATE models SET display_name = ?, description = ?, labels_json = ?, update_time = ? "
                       "WHERE id = ? AND version_id = ?");
    st.bind_all(m.display_name, m.description, labels_to_json(m.labels).dump(), m.update_time, m.id, m.version_id);
    st.run();
    if (db_.changes() == 0) throw error_not_found("model " + m.id, "no such model");
  }

  void model_delete(const std::string& id) override {
    std::lock_guard lock(mu_);
    SqliteTxn txn(db_);
    SqliteStmt a(db_, "DELETE FROM model_aliases WHERE model_id = ?");
    a.bind_all(id);
    a.run();
    SqliteStmt st(db_, "DELETE FROM models WHERE id = ?");
    st.bind_all(id);
    st.run();
    if (db_.changes() == 0) throw error_not_found("model " + id, "no such model");
    SqliteStmt ev(db_, "DELETE FROM evaluations WHERE model_id = ?");
    ev.bind_all(id);
    ev.run();
    txn.commit();
  }

  std::vector<std::string> model_active_jobs(const std::string& id) override {
    std::lock_guard lock(mu_);
    SqliteStmt st(db_, "SELECT id FROM jobs WHERE base_model = ? AND state NOT IN "
                       "('JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED') ORDER BY seq");
    st.bind_all(id);
    std::vector<std::string> out;
    while (st.step()) out.push_back(st.text(0));
    return out;
  }

  void dataset_insert(const DatasetRecord& d) override {
    std::lock_guard lock(mu_);
    SqliteStmt st(db_, "INSERT INTO datasets (id, filename, purpose, path, sha256, size_bytes, create_time) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)");
    st.bind_all(d.id, d.filename, d.purpose, d.path, d.sha256, d.size_bytes, d.create_time);
    st.run();
  }

  std::optional<DatasetRecord> dataset_get(const std::string& id) override {
    return dataset_where("id = ?", id);
  }
  std::optional<DatasetRecord> dataset_by_sha256(const std::string& sha) override {
    return dataset_where("sha256 = ?", sha);
  }

  std::vector<DatasetRecord> dataset_list() override {
    std::lock_guard lock(mu_);
    SqliteStmt st(db_, "SELECT id, filename, purpose, path, sha256, size_bytes, create_time FROM datasets "
                       "ORDER BY create_time, id");
    std::vector<DatasetRecord> out;
    while (st.step()) out.push_back(read_dataset(st));
    return out;
  }

  void dataset_delete(const std::string& id) override {
    std::lock_guard lock(mu_);
    SqliteStmt st(db_, "DELETE FROM datasets WHERE id = ?");
    st.bind_all(id);
    st.run();
    if (db_.changes() == 0) throw error_not_found("file " + id, "no such file");
  }

  void job_insert(const JobRecord& j) override {
    std::lock_guard lock(mu_);
    SqliteStmt st(db_, (std::string("INSERT INTO jobs (") + kJobColumns +
                        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").c_str());
    st.bind_all(j.id, j.api, j.state, static_cast<int>(j.pause_requested), j.display_name, j.description,
                labels_to_json(j.labels).dump(), j.base_model, j.base_version_id, j.spec.dump(), j.output_dir,
                j.error_code, j.error_message, j.tuned_model_id, j.worker_pid, j.attempts, j.create_time,
                j.start_time, j.end_time, j.update_time);
    st.run();
  }

  std::optional<JobRecord> job_get(const std::string& id) override {
    std::lock_guard lock(mu_);
    SqliteStmt st(db_, (std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?").c_str());
    st.bind_all(id);
    if (!st.step()) return std::nullopt;
    return read_job(st);
  }

  std::vector<JobRecord> job_list() override {
    std::lock_guard lock(mu_);
    SqliteStmt st(db_, (std::string("SELECT ") + kJobColumns + " FROM jobs ORDER BY seq").c_str());
    std::vector<JobRecord> out;
    while (st.step()) out.push_back(read_job(st));
    return out;
  }

  bool job_update(const JobRecord& j, const std::string& expected_state) override {
    std::lock_guard lock(mu_);
    SqliteTxn txn(db_);
    const bool ok = update_job_locked(j, expected_state);
    txn.commit();
    return ok;
  }

  bool job_update_with_model(const JobRecord& j, const std::string& expected_state, const ModelRecord& m,
                             const std::vector<ModelRecord>& versions) override {
    std::lock_guard lock(mu_);
    SqliteTxn txn(db_);
    if (!update_job_locked(j, expected_state)) return false;
    for (const ModelRecord& v : versions)
      if (v.id != m.id || v.version_id <= m.version_id)
        throw Error(ErrorKind::Internal, "model " + v.id + "@" + std::to_string(v.version_id),
                    "a further version must share the model's id and follow its version");
    insert_model_locked(m);
    for (const ModelRecord& v : versions) {
      insert_model_locked(v, /*make_default=*/false);
      for (const std::string& alias : v.aliases) {
        if (alias == "default") continue;
        SqliteStmt al(db_, "INSERT OR REPLACE INTO model_aliases (model_id, alias, version_id) VALUES (?, ?, ?)");
        al.bind_all(v.id, alias, v.version_id);
        al.run();
      }
    }
    txn.commit();
    return true;
  }

  int64_t event_append(const std::string& job_id, const std::string& level, const std::string& message) override {
    std::lock_guard lock(mu_);
    SqliteStmt st(db_, "INSERT INTO job_events (job_id, time, level, message) VALUES (?, ?, ?, ?)");
    st.bind_all(job_id, time_now_rfc3339(), level, message);
    st.run();
    return sqlite3_last_id();
  }

  std::vector<JobEventRecord> events(const std::string& job_id, int64_t after_id) override {
    std::lock_guard lock(mu_);
    SqliteStmt st(db_, "SELECT id, job_id, time, level, message FROM job_events WHERE job_id = ? AND id > ? "
                       "ORDER BY id");
    st.bind_all(job_id, after_id);
    std::vector<JobEventRecord> out;
    while (st.step()) out.push_back({st.i64(0), st.text(1), st.text(2), st.text(3), st.text(4)});
    return out;
  }

  void metric_put(const MetricPoint& p) override {
    std::lock_guard lock(mu_);
    SqliteStmt st(db_, "INSERT OR REPLACE INTO job_metrics (job_id, step, time, epoch, loss, token_accuracy, "
                       "learning_rate, tokens_per_s, val_loss, val_token_accuracy, named_json) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    json named = json::object();
    if (!p.metrics.empty()) named["train"] = p.metrics;
    if (!p.val_metrics.empty()) named["validation"] = p.val_metrics;
    st.bind_all(p.job_id, p.step, p.time, p.epoch, p.loss, p.token_accuracy, p.learning_rate, p.tokens_per_s,
                p.val_loss, p.val_token_accuracy, named.dump());
    st.run();
  }

  std::vector<MetricPoint> metrics(const std::string& job_id) override {
    std::lock_guard lock(mu_);
    SqliteStmt st(db_, "SELECT job_id, step, time, epoch, loss, token_accuracy, learning_rate, tokens_per_s, "
                       "val_loss, val_token_accuracy, named_json FROM job_metrics WHERE job_id = ? ORDER BY step");
    st.bind_all(job_id);
    std::vector<MetricPoint> out;
    while (st.step()) {
      out.push_back({st.text(0), st.i64(1), st.text(2), st.f64(3), st.f64(4), st.f64(5), st.f64(6), st.f64(7),
                     st.opt_f64(8), st.opt_f64(9)});
      const json named = json::parse(st.text(10));
      out.back().metrics = named.value("train", std::map<std::string, double>{});
      out.back().val_metrics = named.value("validation", std::map<std::string, double>{});
    }
    return out;
  }

  void checkpoint_put(const CheckpointRecord& c) override {
    std::lock_guard lock(mu_);
    SqliteStmt st(db_, "INSERT OR REPLACE INTO job_checkpoints (job_id, step, epoch, path, metrics_json, create_time) "
                       "VALUES (?, ?, ?, ?, ?, ?)");
    st.bind_all(c.job_id, c.step, c.epoch, c.path, c.metrics.dump(), c.create_time);
    st.run();
  }

  std::vector<CheckpointRecord> checkpoints(const std::string& job_id) override {
    std::lock_guard lock(mu_);
    SqliteStmt st(db_, "SELECT job_id, step, epoch, path, metrics_json, create_time FROM job_checkpoints "
                       "WHERE job_id = ? ORDER BY step");
    st.bind_all(job_id);
    std::vector<CheckpointRecord> out;
    while (st.step())
      out.push_back({st.text(0), st.i64(1), static_cast<int>(st.i64(2)), st.text(3), json::parse(st.text(4)),
                     st.text(5)});
    return out;
  }

  void evaluation_insert(const EvaluationRecord& e) override {
    std::lock_guard lock(mu_);
    SqliteStmt st(db_, (std::string("INSERT INTO evaluations (") + kEvaluationColumns +
                        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").c_str());
    st.bind_all(e.id, e.display_name, e.model_id, e.model_version_id, e.job_id, e.checkpoint_id, e.system, e.data_uri,
                e.metrics.dump(), e.settings.dump(), e.results_path, e.create_time);
    st.run();
  }

  std::vector<EvaluationRecord> evaluations_of_model(const std::string& model_id) override {
    return evaluations_where("model_id = ?", model_id);
  }
  std::vector<EvaluationRecord> evaluations_of_job(const std::string& job_id) override {
    return evaluations_where("job_id = ?", job_id);
  }

 private:
  std::vector<EvaluationRecord> evaluations_where(const char* where, const std::string& v) {
    std::lock_guard lock(mu_);
    SqliteStmt st(db_, (std::string("SELECT ") + kEvaluationColumns + " FROM evaluations WHERE " + where +
                        " ORDER BY create_time, id").c_str());
    st.bind_all(v);
    std::vector<EvaluationRecord> out;
    while (st.step())
      out.push_back({st.text(0), st.text(1), st.text(2), static_cast<int>(st.i64(3)), st.text(4), st.text(5),
                     st.text(6), st.text(7), json::parse(st.text(8)), json::parse(st.text(9)), st.text(10),
                     st.text(11)});
    return out;
  }

 public:
  void endpoint_put(const EndpointRecord& e) override {
    std::lock_guard lock(mu_);
    SqliteStmt st(db_, "INSERT OR REPLACE INTO endpoints (id, display_name, body_json, create_time, update_time) "
                       "VALUES (?, ?, ?, ?, ?)");
    st.bind_all(e.id, e.display_name, endpoint_body_json(e).dump(), e.create_time, e.update_time);
    st.run();
  }

  std::optional<EndpointRecord> endpoint_get(const std::string& id) override {
    std::lock_guard lock(mu_);
    SqliteStmt st(db_, "SELECT id, display_name, body_json, create_time, update_time FROM endpoints WHERE id = ?");
    st.bind_all(id);
    if (!st.step()) return std::nullopt;
    return endpoint_from_row(st.text(0), st.text(1), json::parse(st.text(2)), st.text(3), st.text(4));
  }

  std::vector<EndpointRecord> endpoint_list() override {
    std::lock_guard lock(mu_);
    SqliteStmt st(db_, "SELECT id, display_name, body_json, create_time, update_time FROM endpoints "
                       "ORDER BY create_time, id");
    std::vector<EndpointRecord> out;
    while (st.step()) out.push_back(endpoint_from_row(st.text(0), st.text(1), json::parse(st.text(2)), st.text(3), st.text(4)));
    return out;
  }

  void endpoint_delete(const std::string& id) override {
    std::lock_guard lock(mu_);
    SqliteStmt st(db_, "DELETE FROM endpoints WHERE id = ?");
    st.bind_all(id);
    st.run();
    if (db_.changes() == 0) throw error_not_found("endpoint " + id, "no such endpoint");
  }

 private:
  static json endpoint_body_json(const EndpointRecord& e) {
    json deployed = json::array();
    for (const DeployedModelRecord& d : e.deployed)
      deployed.push_back({{"id", d.id}, {"model_id", d.model_id}, {"model_version_id", d.model_version_id},
                          {"display_name", d.display_name}, {"min_replicas", d.min_replicas},
                          {"max_replicas", d.max_replicas}, {"create_time", d.create_time}});
    return {{"description", e.description}, {"labels", e.labels}, {"deployed", deployed}, {"traffic_split", e.traffic_split}};
  }

  static EndpointRecord endpoint_from_row(std::string id, std::string name, const json& body, std::string created,
                                          std::string updated) {
    EndpointRecord e;
    e.id = std::move(id);
    e.display_name = std::move(name);
    e.description = body.value("description", "");
    e.labels = body.value("labels", Labels{});
    for (const json& d : body.value("deployed", json::array()))
      e.deployed.push_back({d.at("id").get<std::string>(), d.at("model_id").get<std::string>(), d.at("model_version_id").get<int>(),
                            d.value("display_name", ""), d.value("min_replicas", 1), d.value("max_replicas", 1),
                            d.value("create_time", "")});
    e.traffic_split = body.value("traffic_split", std::map<std::string, int>{});
    e.create_time = std::move(created);
    e.update_time = std::move(updated);
    return e;
  }

  int64_t sqlite3_last_id() {
    SqliteStmt st(db_, "SELECT last_insert_rowid()");
    st.step();
    return st.i64(0);
  }

  std::optional<DatasetRecord> dataset_where(const char* where, const std::string& v) {
    std::lock_guard lock(mu_);
    SqliteStmt st(db_, (std::string("SELECT id, filename, purpose, path, sha256, size_bytes, create_time FROM "
                                    "datasets WHERE ") + where + " ORDER BY create_time LIMIT 1").c_str());
    st.bind_all(v);
    if (!st.step()) return std::nullopt;
    return read_dataset(st);
  }

  void insert_model_locked(const ModelRecord& m, bool make_default = true) {
    {
      SqliteStmt chk(db_, "SELECT 1 FROM models WHERE id = ? AND version_id = ?");
      chk.bind_all(m.id, m.version_id);
      if (chk.step()) throw error_exists("model " + m.id + "@" + std::to_string(m.version_id), "already exists");
    }
    SqliteStmt st(db_, (std::string("INSERT INTO models (") + kModelColumns +
                        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").c_str());
    st.bind_all(m.id, m.version_id, m.display_name, m.description, m.kind, m.format, m.source_uri, m.artifact_path,
                m.architecture, m.size_bytes, m.content_digest, files_to_json(m.files).dump(), m.chat_template,
                labels_to_json(m.labels).dump(), m.base_model_id, m.base_version_id, m.job_id, m.lineage.dump(),
                m.create_time, m.update_time);
    st.run();
    if (!make_default) return;
    SqliteStmt al(db_, "INSERT OR REPLACE INTO model_aliases (model_id, alias, version_id) VALUES (?, 'default', ?)");
    al.bind_all(m.id, m.version_id);
    al.run();
  }

  std::optional<ModelRecord> model_get_locked(const std::string& id, int version) {
    SqliteStmt st(db_, (std::string("SELECT ") + kModelColumns + " FROM models WHERE id = ? AND version_id = ?").c_str());
    st.bind_all(id, version);
    if (!st.step()) return std::nullopt;
    ModelRecord m = read_model(st);
    fill_aliases_locked(m);
    return m;
  }

  std::optional<int> alias_locked(const std::string& id, const std::string& alias) {
    SqliteStmt st(db_, "SELECT version_id FROM model_aliases WHERE model_id = ? AND alias = ?");
    st.bind_all(id, alias);
    if (!st.step()) return std::nullopt;
    return static_cast<int>(st.i64(0));
  }

  void fill_aliases_locked(ModelRecord& m) {
    SqliteStmt st(db_, "SELECT alias FROM model_aliases WHERE model_id = ? AND version_id = ? ORDER BY alias");
    st.bind_all(m.id, m.version_id);
    m.aliases.clear();
    while (st.step()) m.aliases.push_back(st.text(0));
  }

  bool update_job_locked(const JobRecord& j, const std::string& expected_state) {
    SqliteStmt st(db_, "UPDATE jobs SET state = ?, pause_requested = ?, display_name = ?, description = ?, "
                       "labels_json = ?, spec_json = ?, output_dir = ?, error_code = ?, error_message = ?, "
                       "tuned_model_id = ?, worker_pid = ?, attempts = ?, start_time = ?, end_time = ?, "
                       "update_time = ? WHERE id = ? AND state = ?");
    st.bind_all(j.state, static_cast<int>(j.pause_requested), j.display_name, j.description,
                labels_to_json(j.labels).dump(), j.spec.dump(), j.output_dir, j.error_code, j.error_message,
                j.tuned_model_id, j.worker_pid, j.attempts, j.start_time, j.end_time, time_now_rfc3339(), j.id,
                expected_state);
    st.run();
    return db_.changes() == 1;
  }

  std::string dir_;
  std::mutex mu_;
  SqliteDb db_;  // GUARDED_BY(mu_)
};

}  // namespace

std::unique_ptr<Store> store_open(const std::string& data_dir) { return std::make_unique<SqliteStore>(data_dir); }

std::string time_now_rfc3339() {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  tm t{};
  gmtime_r(&tv.tv_sec, &t);
  char buf[64];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  std::snprintf(buf + n, sizeof buf - n, ".%06ldZ", static_cast<long>(tv.tv_usec));
  return buf;
}

std::string id_new() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard lock(mu);
  std::uniform_int_distribution<uint64_t> d(100000000000000000ULL, 999999999999999999ULL);
  return std::to_string(d(rng));
}

}  // namespace loam
