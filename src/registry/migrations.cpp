#include "registry/migrations.h"

#include <string>
#include <vector>

#include "registry/errors.h"
#include "registry/sqlite_db.h"

namespace loam {
namespace {

// Append only: never edit a migration that has shipped.
const std::vector<const char*>& migrations() {
  static const std::vector<const char*> m = {
      // 1: models (one row per version), aliases, datasets, jobs and what jobs record.
      R"sql(
CREATE TABLE models (
  id TEXT NOT NULL,
  version_id INTEGER NOT NULL,
  display_name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  kind TEXT NOT NULL,                 -- imported | tuned
  format TEXT NOT NULL,               -- hf | gguf | adapter
  source_uri TEXT NOT NULL DEFAULT '',
  artifact_path TEXT NOT NULL,
  architecture TEXT NOT NULL DEFAULT '',
  size_bytes INTEGER NOT NULL DEFAULT 0,
  content_digest TEXT NOT NULL DEFAULT '',
  files_json TEXT NOT NULL DEFAULT '[]',
  chat_template TEXT NOT NULL DEFAULT '',
  labels_json TEXT NOT NULL DEFAULT '{}',
  base_model_id TEXT NOT NULL DEFAULT '',
  base_version_id INTEGER NOT NULL DEFAULT 0,
  job_id TEXT NOT NULL DEFAULT '',
  lineage_json TEXT NOT NULL DEFAULT '{}',
  create_time TEXT NOT NULL,
  update_time TEXT NOT NULL,
  PRIMARY KEY (id, version_id));
CREATE INDEX models_digest ON models(content_digest);
CREATE INDEX models_display_name ON models(display_name);
CREATE TABLE model_aliases (
  model_id TEXT NOT NULL,
  alias TEXT NOT NULL,
  version_id INTEGER NOT NULL,
  PRIMARY KEY (model_id, alias),
  FOREIGN KEY (model_id, version_id) REFERENCES models(id, version_id) ON DELETE CASCADE);
CREATE TABLE datasets (
  id TEXT PRIMARY KEY,
  filename TEXT NOT NULL,
  purpose TEXT NOT NULL,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  create_time TEXT NOT NULL);
CREATE INDEX datasets_sha ON datasets(sha256);
CREATE TABLE jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- FIFO order
  id TEXT NOT NULL UNIQUE,
  api TEXT NOT NULL,                      -- vertex | openai | pipeline | cli
  state TEXT NOT NULL,
  pause_requested INTEGER NOT NULL DEFAULT 0,
  display_name TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  labels_json TEXT NOT NULL DEFAULT '{}',
  base_model TEXT NOT NULL,               -- model id
  base_version_id INTEGER NOT NULL,
  spec_json TEXT NOT NULL,
  output_dir TEXT NOT NULL,
  error_code TEXT NOT NULL DEFAULT '',
  error_message TEXT NOT NULL DEFAULT '',
  tuned_model_id TEXT NOT NULL DEFAULT '',
  worker_pid INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  create_time TEXT NOT NULL,
  start_time TEXT NOT NULL DEFAULT '',
  end_time TEXT NOT NULL DEFAULT '',
  update_time TEXT NOT NULL);
CREATE TABLE job_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  time TEXT NOT NULL,
  level TEXT NOT NULL,
  message TEXT NOT NULL);
CREATE INDEX job_events_job ON job_events(job_id, id);
CREATE TABLE job_metrics (
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  time TEXT NOT NULL,
  epoch REAL NOT NULL,
  loss REAL NOT NULL,
  token_accuracy REAL NOT NULL,
  learning_rate REAL NOT NULL,
  tokens_per_s REAL NOT NULL,
  val_loss REAL,
  val_token_accuracy REAL,
  PRIMARY KEY (job_id, step));
CREATE TABLE job_checkpoints (
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  epoch INTEGER NOT NULL,
  path TEXT NOT NULL,
  metrics_json TEXT NOT NULL DEFAULT '{}',
  create_time TEXT NOT NULL,
  PRIMARY KEY (job_id, step));
)sql",
      // Evaluations (ModelEvaluation): one system's scores, linked to the model
      // version scored and the tuning job (and checkpoint) that ran it.
      R"sql(
CREATE TABLE IF NOT EXISTS evaluations (
  id TEXT PRIMARY KEY,
  display_name TEXT NOT NULL DEFAULT '',
  model_id TEXT NOT NULL DEFAULT '',
  model_version_id INTEGER NOT NULL DEFAULT 0,
  job_id TEXT NOT NULL DEFAULT '',
  checkpoint_id TEXT NOT NULL DEFAULT '',
  system TEXT NOT NULL DEFAULT '',
  data_uri TEXT NOT NULL DEFAULT '',
  metrics_json TEXT NOT NULL DEFAULT '{}',
  settings_json TEXT NOT NULL DEFAULT '{}',
  results_path TEXT NOT NULL DEFAULT '',
  create_time TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS evaluations_model ON evaluations(model_id, create_time);
CREATE INDEX IF NOT EXISTS evaluations_job ON evaluations(job_id, create_time);
)sql",
      // Endpoints: deployed models and traffic split in body_json (registry/records.h).
      R"sql(
CREATE TABLE IF NOT EXISTS endpoints (
  id TEXT PRIMARY KEY,
  display_name TEXT NOT NULL,
  body_json TEXT NOT NULL,
  create_time TEXT NOT NULL,
  update_time TEXT NOT NULL);
)sql",
      // Named metrics of a job's step (an objective's own figures, e.g. DPO's
      // rewards): {"train": {name: value}, "validation": {name: value}}.
      R"sql(
ALTER TABLE job_metrics ADD COLUMN named_json TEXT NOT NULL DEFAULT '{}';
)sql",
  };
  return m;
}

int user_version(SqliteDb& db) {
  SqliteStmt st(db, "PRAGMA user_version");
  return st.step() ? static_cast<int>(st.i64(0)) : 0;
}

}  // namespace

int migrations_latest() { return static_cast<int>(migrations().size()); }

void migrations_apply(SqliteDb& db) {
  const int latest = migrations_latest();
  for (;;) {
    SqliteTxn txn(db);  // re-read under the write lock: another process may have migrated
    const int v = user_version(db);
    if (v > latest)
      throw error_precondition(db.path(), "the registry has schema version " + std::to_string(v) +
                                              ", newer than this loam understands (" + std::to_string(latest) +
                                              "); upgrade loam or use another --data-dir");
    if (v == latest) return;
    db.exec(migrations()[static_cast<size_t>(v)]);
    db.exec("PRAGMA user_version=" + std::to_string(v + 1));
    txn.commit();
  }
}

}  // namespace loam
