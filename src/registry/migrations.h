// Versioned schema of the registry database. The version lives in SQLite's
// user_version; opening applies every migration above it in one transaction
// each. A database written by a newer Loam (version above the newest known)
// is refused with a message saying so, never modified.
#pragma once

namespace loam {

class SqliteDb;

int migrations_latest();           // the schema version this build writes
void migrations_apply(SqliteDb& db);  // throws Error on a newer database

}  // namespace loam
