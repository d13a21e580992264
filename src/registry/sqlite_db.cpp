#include "registry/sqlite_db.h"

#include <sqlite3.h>

#include "core/error.h"

namespace loam {

SqliteDb::SqliteDb(const std::string& path) : path_(path) {
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(path, "cannot open the registry database: " + msg);
  }
  sqlite3_busy_timeout(db_, 30000);
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA foreign_keys=ON");
  exec("PRAGMA synchronous=NORMAL");
}

SqliteDb::~SqliteDb() { sqlite3_close(db_); }

void SqliteDb::fail(const std::string& what) const {
  throw Error(path_, what + ": " + sqlite3_errmsg(db_));
}

void SqliteDb::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw Error(path_, "SQL failed (" + sql.substr(0, 60) + "): " + msg);
  }
}

int64_t SqliteDb::changes() const { return sqlite3_changes(db_); }

SqliteStmt::SqliteStmt(SqliteDb& db, const char* sql) : db_(db) {
  if (sqlite3_prepare_v2(db.handle(), sql, -1, &st_, nullptr) != SQLITE_OK) db.fail("cannot prepare statement");
}

SqliteStmt::~SqliteStmt() { sqlite3_finalize(st_); }

SqliteStmt& SqliteStmt::bind(int i, const std::string& v) {
  if (sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT) != SQLITE_OK)
    db_.fail("bind");
  return *this;
}
SqliteStmt& SqliteStmt::bind(int i, int64_t v) {
  if (sqlite3_bind_int64(st_, i, v) != SQLITE_OK) db_.fail("bind");
  return *this;
}
SqliteStmt& SqliteStmt::bind(int i, double v) {
  if (sqlite3_bind_double(st_, i, v) != SQLITE_OK) db_.fail("bind");
  return *this;
}
SqliteStmt& SqliteStmt::bind(int i, const std::optional<double>& v) { return v ? bind(i, *v) : bind_null(i); }
SqliteStmt& SqliteStmt::bind_null(int i) {
  if (sqlite3_bind_null(st_, i) != SQLITE_OK) db_.fail("bind");
  return *this;
}

bool SqliteStmt::step() {
  const int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_.fail("statement failed");
}

void SqliteStmt::run() {
  while (step()) {
  }
}

std::string SqliteStmt::text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st_, col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(st_, col))) : std::string();
}
int64_t SqliteStmt::i64(int col) const { return sqlite3_column_int64(st_, col); }
double SqliteStmt::f64(int col) const { return sqlite3_column_double(st_, col); }
bool SqliteStmt::is_null(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }
std::optional<double> SqliteStmt::opt_f64(int col) const {
  if (is_null(col)) return std::nullopt;
  return f64(col);
}

SqliteTxn::SqliteTxn(SqliteDb& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }
SqliteTxn::~SqliteTxn() {
  if (!done_) {
    try {
      db_.exec("ROLLBACK");
    } catch (...) {
    }
  }
}
void SqliteTxn::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace loam
