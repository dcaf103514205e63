#include "schema.h"

#include <sqlite3.h>

#include <string>

#include "sqlite_store.h"

namespace beckon::store {

const std::vector<std::string_view>& migrations() {
  static const std::vector<std::string_view> all = {
      // 0 -> 1: bindings (subscriptions are bindings with a dialog), contact
      // requests, and small facts about the store itself. Times are
      // milliseconds since the Unix epoch; lists are JSON.
      R"(CREATE TABLE bindings (
           id INTEGER PRIMARY KEY,
           updated INTEGER NOT NULL,
           aor TEXT NOT NULL,
           contact TEXT NOT NULL,
           instance TEXT NOT NULL,
           reg_id TEXT NOT NULL,
           temp_gruu TEXT NOT NULL,
           transport TEXT NOT NULL,
           source_host TEXT NOT NULL,
           source_port INTEGER NOT NULL,
           expires_ms INTEGER NOT NULL,
           path TEXT NOT NULL,
           call_id TEXT NOT NULL,
           cseq INTEGER NOT NULL,
           q REAL NOT NULL,
           packages TEXT NOT NULL,
           unreachable INTEGER NOT NULL,
           dialog_id TEXT NOT NULL,
           dialog TEXT NOT NULL);
         CREATE TABLE requests (
           app_server TEXT NOT NULL,
           request_id TEXT NOT NULL,
           params TEXT NOT NULL,
           state TEXT NOT NULL,
           deliveries TEXT NOT NULL,
           created_ms INTEGER NOT NULL,
           queue_until_ms INTEGER NOT NULL,
           next_attempt_ms INTEGER NOT NULL,
           ended_ms INTEGER NOT NULL,
           rounds INTEGER NOT NULL,
           cancelled INTEGER NOT NULL,
           refused_by TEXT NOT NULL,
           PRIMARY KEY (app_server, request_id)) WITHOUT ROWID;
         CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;)",
      // 1 -> 2: the listening socket a binding came in on, to reach a UDP
      // binding from the same socket after a restart. Stores of version 1
      // did not know it: their UDP bindings use the first UDP listener of
      // their address family.
      R"(ALTER TABLE bindings ADD COLUMN listener TEXT NOT NULL DEFAULT '';)",
      // 2 -> 3: requests are keyed by the number the core gives each as it
      // first saves it, instead of by (app_server, request_id). Rows keyed by
      // request id went wherever their id sorted: a commit of a few requests
      // rewrote as many scattered pages (about 17 pages, 70 KB, a commit of 8
      // ContactMe). Numbered, a commit's new rows share the table's last page
      // or two, and its updates the pages of the commit before. The core
      // keeps (app_server, request_id) unique; no index is kept on it, since
      // its inserts would scatter again and the store never looks a request
      // up by it. Old rows are numbered in the order they were made.
      R"(CREATE TABLE requests_by_id (
           id INTEGER PRIMARY KEY,
           app_server TEXT NOT NULL,
           request_id TEXT NOT NULL,
           params TEXT NOT NULL,
           state TEXT NOT NULL,
           deliveries TEXT NOT NULL,
           created_ms INTEGER NOT NULL,
           queue_until_ms INTEGER NOT NULL,
           next_attempt_ms INTEGER NOT NULL,
           ended_ms INTEGER NOT NULL,
           rounds INTEGER NOT NULL,
           cancelled INTEGER NOT NULL,
           refused_by TEXT NOT NULL);
         INSERT INTO requests_by_id (app_server, request_id, params, state, deliveries,
             created_ms, queue_until_ms, next_attempt_ms, ended_ms, rounds, cancelled, refused_by)
           SELECT app_server, request_id, params, state, deliveries, created_ms, queue_until_ms,
               next_attempt_ms, ended_ms, rounds, cancelled, refused_by
           FROM requests ORDER BY created_ms, app_server, request_id;
         DROP TABLE requests;
         ALTER TABLE requests_by_id RENAME TO requests;)",
      // 3 -> 4: a binding's push parameters (RFC 8599: pn-provider, pn-prid,
      // pn-param, unescaped), so that a device without a flow is still woken
      // after a restart. Bindings of older stores were made before beckond
      // offered push (their devices never saw +sip.pns): none.
      R"(ALTER TABLE bindings ADD COLUMN push_provider TEXT NOT NULL DEFAULT '';
         ALTER TABLE bindings ADD COLUMN push_prid TEXT NOT NULL DEFAULT '';
         ALTER TABLE bindings ADD COLUMN push_param TEXT NOT NULL DEFAULT '';)",
  };
  return all;
}

namespace {

void exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string why = error ? error : sqlite3_errmsg(db);
    sqlite3_free(error);
    throw StoreError(why);
  }
}

int userVersion(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  int version = -1;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    version = sqlite3_column_int(stmt, 0);
  }
  sqlite3_finalize(stmt);
  if (version < 0) throw StoreError(std::string("cannot read its version: ") + sqlite3_errmsg(db));
  return version;
}

}  // namespace

int migrate(sqlite3* db, int target) {
  const int latest = static_cast<int>(migrations().size());
  if (target < 0) target = latest;
  const int version = userVersion(db);
  if (version > latest) {
    throw StoreError("its schema version " + std::to_string(version) +
                     " is newer than this beckond knows (" + std::to_string(latest) +
                     "): upgrade beckond or restore a backup");
  }
  if (version >= target) return version;
  exec(db, "BEGIN IMMEDIATE");
  try {
    for (int v = version; v < target; ++v)
      exec(db, std::string(migrations()[v]));
    exec(db, "PRAGMA user_version = " + std::to_string(target));
    exec(db, "COMMIT");
    return version;
  } catch (const StoreError& e) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw StoreError("migrating it from version " + std::to_string(version) +
                     " failed: " + e.what());
  }
}

}  // namespace beckon::store
