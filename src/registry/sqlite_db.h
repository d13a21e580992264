// A thin RAII wrapper over the SQLite C API: a connection, prepared
// statements with positional binding, and transactions. Every failure throws
// Error naming the database file and SQLite's message. Not thread-safe: one
// connection per thread, or a mutex around it (SqliteStore does the latter).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace loam {

class SqliteDb {
 public:
  // Opens (creating) the file with WAL journaling, foreign keys on and a
  // busy timeout so that several processes (server, workers) can share it.
  explicit SqliteDb(const std::string& path);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  void exec(const std::string& sql);
  int64_t changes() const;
  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_; }
  [[noreturn]] void fail(const std::string& what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

class SqliteStmt {
 public:
  SqliteStmt(SqliteDb& db, const char* sql);
  ~SqliteStmt();
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;

  SqliteStmt& bind(int i, const std::string& v);
  SqliteStmt& bind(int i, const char* v) { return bind(i, std::string(v)); }
  SqliteStmt& bind(int i, int64_t v);
  SqliteStmt& bind(int i, int v) { return bind(i, static_cast<int64_t>(v)); }
  SqliteStmt& bind(int i, double v);
  SqliteStmt& bind(int i, const std::optional<double>& v);
  SqliteStmt& bind_null(int i);
  template <typename... Ts>
  SqliteStmt& bind_all(const Ts&... vs) {
    int i = 1;
    (bind(i++, vs), ...);
    return *this;
  }

  bool step();        // true while a row is available; throws on error
  void run();         // steps to completion (statements without rows)
  std::string text(int col) const;
  int64_t i64(int col) const;
  double f64(int col) const;
  std::optional<double> opt_f64(int col) const;
  bool is_null(int col) const;

 private:
  SqliteDb& db_;
  sqlite3_stmt* st_ = nullptr;
};

// BEGIN IMMEDIATE on construction (takes the write lock up front, so two
// writers never deadlock upgrading), ROLLBACK unless commit() was called.
class SqliteTxn {
 public:
  explicit SqliteTxn(SqliteDb& db);
  ~SqliteTxn();
  void commit();

 private:
  SqliteDb& db_;
  bool done_ = false;
};

}  // namespace loam
