#include "sqlite_store.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_map>
#include <utility>

#include "boundary.h"
#include "codec.h"
#include "schema.h"
#include "thread_name.h"
#include "utf8.h"

namespace beckon::store {

namespace {

using nlohmann::json;

using namespace codec;

// A TEXT or a BLOB column (wire bytes that are not UTF-8 are bound as BLOBs), as bytes.
std::string text(sqlite3_stmt* stmt, int column) {
  const auto* s = static_cast<const char*>(sqlite3_column_blob(stmt, column));
  return s ? std::string(s, static_cast<std::size_t>(sqlite3_column_bytes(stmt, column)))
           : std::string();
}

}  // namespace

// The prepared statements, owned by whichever thread uses the connection
// (the opening thread until start(), then the writer).
class SqliteStore::Statements {
 public:
  explicit Statements(sqlite3* db)
      : saveBinding(prepare(db,
                            "INSERT OR REPLACE INTO bindings (id, updated, aor, contact, instance, "
                            "reg_id, temp_gruu, transport, source_host, source_port, expires_ms, "
                            "path, call_id, cseq, q, packages, unreachable, dialog_id, dialog, "
                            "listener, push_provider, push_prid, push_param) VALUES (?1, ?2, ?3, "
                            "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
                            "?19, ?20, ?21, ?22, ?23)")),
        removeBinding(prepare(db, "DELETE FROM bindings WHERE id = ?1")),
        saveRequest(prepare(db,
                            "INSERT OR REPLACE INTO requests (id, app_server, request_id, params, "
                            "state, deliveries, created_ms, queue_until_ms, next_attempt_ms, "
                            "ended_ms, rounds, cancelled, refused_by) VALUES (?1, ?2, ?3, ?4, ?5, "
                            "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)")),
        updateRequest(prepare(db,
                              "UPDATE requests SET state = ?2, deliveries = ?3, "
                              "next_attempt_ms = ?4, ended_ms = ?5, rounds = ?6, cancelled = ?7, "
                              "refused_by = ?8 WHERE id = ?1")),
        removeRequest(prepare(db, "DELETE FROM requests WHERE id = ?1")),
        setMeta(prepare(db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")),
        begin(prepare(db, "BEGIN")),
        commit(prepare(db, "COMMIT")),
        rollback(prepare(db, "ROLLBACK")) {}
  ~Statements() {
    for (sqlite3_stmt* s : {saveBinding, removeBinding, saveRequest, updateRequest, removeRequest,
                            setMeta, begin, commit, rollback})
      sqlite3_finalize(s);
  }
  Statements(const Statements&) = delete;
  Statements& operator=(const Statements&) = delete;

  sqlite3_stmt *saveBinding, *removeBinding, *saveRequest, *updateRequest, *removeRequest, *setMeta,
      *begin, *commit, *rollback;

 private:
  static sqlite3_stmt* prepare(sqlite3* db, const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK)
      throw StoreError(std::string("cannot prepare its statements: ") + sqlite3_errmsg(db));
    return stmt;
  }
};

namespace {

// Binds in order: bind(stmt, a, b, c) is ?1 = a, ?2 = b, ?3 = c.
// Text that is not UTF-8 is bound as a BLOB: SQLite keeps its bytes as they
// are, where a TEXT value must be UTF-8 (sqlite3_bind_text()).
void bindOne(sqlite3_stmt* s, int i, const std::string& v) {
  if (validUtf8(v)) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  } else {
    sqlite3_bind_blob(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
}
void bindOne(sqlite3_stmt* s, int i, std::int64_t v) {
  sqlite3_bind_int64(s, i, v);
}
void bindOne(sqlite3_stmt* s, int i, double v) {
  sqlite3_bind_double(s, i, v);
}

template <class... Values>
bool step(sqlite3_stmt* s, const Values&... values) {
  int i = 0;
  (bindOne(s, ++i, values), ...);
  const int rc = sqlite3_step(s);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return rc == SQLITE_DONE;
}

std::int64_t i64(std::uint64_t v) {
  return static_cast<std::int64_t>(v);
}

}  // namespace

namespace {

// Group commit under load (as PostgreSQL's commit_delay): when the previous
// commit ended less than kBusy ago, the writer waits up to kGroupDelay, or
// until kGroupSize writes are queued, before it commits, so that one commit
// (and one fsync) carries many requests instead of one or two. A write that
// comes while the writer has been idle is committed at once: alone, it pays
// no delay.
constexpr auto kBusy = std::chrono::milliseconds(2);
constexpr auto kGroupDelay = std::chrono::microseconds(200);
constexpr std::size_t kGroupSize = 64;

}  // namespace

SqliteStore::SqliteStore(SqliteOptions options, Executor& executor)
    : QueuedStore(executor, kGroupSize), options_(std::move(options)) {
  const std::string where = "store '" + options_.path + "': ";
  if (options_.synchronous != "full" && options_.synchronous != "normal") {
    throw StoreError(where + "synchronous must be \"full\" or \"normal\"");
  }
  if (sqlite3_open_v2(options_.path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError(where + "cannot open it: " + why);
  }
  // It holds the proxy's dialog keys, a secret (docs/operator-guide.md):
  // the owner's alone. SQLite makes its -wal and -shm files alike.
  if (::chmod(options_.path.c_str(), S_IRUSR | S_IWUSR) != 0) {
    spdlog::warn("store '{}': cannot make it readable by its owner only: {}", options_.path,
                 std::strerror(errno));
  }
  try {
    // WAL: readers (an operator's backup) never block the writer.
    const std::string pragmas =
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = " + options_.synchronous +
        "; PRAGMA busy_timeout = 5000;";
    char* error = nullptr;
    if (sqlite3_exec(db_, pragmas.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      const std::string why = error ? error : sqlite3_errmsg(db_);
      sqlite3_free(error);
      throw StoreError(why);
    }
    if (const int was = migrate(db_); was == 0) {
      spdlog::info("store '{}': created (schema version {})", options_.path, kSchemaVersion);
    } else if (was < kSchemaVersion) {
      spdlog::info("store '{}': migrated from schema version {} to {}", options_.path, was,
                   kSchemaVersion);
    }
    statements_ = std::make_unique<Statements>(db_);
  } catch (const StoreError& e) {
    statements_.reset();
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError(where + e.what());
  }
}

SqliteStore::~SqliteStore() {
  stop();
  statements_.reset();
  sqlite3_close(db_);
}

StoredState SqliteStore::load() {
  StoredState state;
  sqlite3_stmt* stmt = nullptr;
  auto prepare = [&](const char* sql) {
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK)
      throw StoreError("store '" + options_.path + "': " + sqlite3_errmsg(db_));
  };
  try {
    prepare(
        "SELECT id, updated, aor, contact, instance, reg_id, temp_gruu, transport, source_host, "
        "source_port, expires_ms, path, call_id, cseq, q, packages, unreachable, dialog_id, "
        "dialog, listener, push_provider, push_prid, push_param FROM bindings");
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      Binding b;
      b.id = static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 0));
      b.updated = static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 1));
      b.aor = text(stmt, 2);
      b.contact = text(stmt, 3);
      b.instance = text(stmt, 4);
      b.regId = text(stmt, 5);
      b.tempGruu = text(stmt, 6);
      b.transport = transportOf(text(stmt, 7));
      b.sourceHost = text(stmt, 8);
      b.sourcePort = static_cast<std::uint16_t>(sqlite3_column_int(stmt, 9));
      b.expires = at(sqlite3_column_int64(stmt, 10));
      if (const std::string path = text(stmt, 11); !path.empty()) {
        for (const json& p : json::parse(path))
          b.path.push_back(wire(p));
      }
      b.callId = text(stmt, 12);
      b.cseq = static_cast<std::uint32_t>(sqlite3_column_int64(stmt, 13));
      b.q = static_cast<float>(sqlite3_column_double(stmt, 14));
      b.packages = decodePackages(text(stmt, 15));
      b.unreachable = sqlite3_column_int(stmt, 16) != 0;
      b.dialogId = text(stmt, 17);
      b.dialogState = decodeDialog(text(stmt, 18));
      b.listener = text(stmt, 19);
      b.push = {text(stmt, 20), text(stmt, 21), text(stmt, 22)};
      state.bindings.push_back(std::move(b));
    }
    sqlite3_finalize(stmt);

    prepare(
        "SELECT id, app_server, params, state, deliveries, created_ms, queue_until_ms, "
        "next_attempt_ms, ended_ms, rounds, cancelled, refused_by FROM requests ORDER BY id");
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      RequestRecord r;
      r.id = static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 0));
      r.appServer = text(stmt, 1);
      r.params = decodeParams(json::parse(text(stmt, 2)));
      r.createdAt = at(sqlite3_column_int64(stmt, 5));
      r.queueUntil = at(sqlite3_column_int64(stmt, 6));
      RequestProgress& p = r.progress;
      p.state = stateOf(text(stmt, 3));
      p.deliveries = decodeDeliveries(json::parse(text(stmt, 4)));
      p.nextAttempt = at(sqlite3_column_int64(stmt, 7));
      p.endedAt = at(sqlite3_column_int64(stmt, 8));
      p.rounds = static_cast<unsigned>(sqlite3_column_int(stmt, 9));
      p.cancelled = sqlite3_column_int(stmt, 10) != 0;
      p.refusedBy = json::parse(text(stmt, 11)).get<std::vector<std::uint64_t>>();
      state.requests.push_back(std::move(r));
    }
    sqlite3_finalize(stmt);

    prepare("SELECT value FROM meta WHERE key = 'accessible_since'");
    if (sqlite3_step(stmt) == SQLITE_ROW) state.accessibleSince = at(std::stoll(text(stmt, 0)));
    sqlite3_finalize(stmt);

    prepare("SELECT value FROM meta WHERE key = 'dialog_keys'");
    if (sqlite3_step(stmt) == SQLITE_ROW) state.dialogKeys = decodeKeys(text(stmt, 0));
    sqlite3_finalize(stmt);
  } catch (const json::exception& e) {
    sqlite3_finalize(stmt);
    throw StoreError("store '" + options_.path + "': a record does not decode: " + e.what());
  } catch (...) {
    sqlite3_finalize(stmt);
    throw;
  }
  return state;
}

void SqliteStore::start() {
  if (!writer_.joinable()) writer_ = namedThread("store", [this] { run(); });
}

void SqliteStore::run() {
  std::vector<Write> batch;
  std::size_t writes = 0;  // the changes in batch
  auto lastCommit = std::chrono::steady_clock::now() - kBusy;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      writerIdle_ = true;
      if (unwritten_.empty()) {
        wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and everything is committed
      } else {
        // After a failed commit: the next try after the back-off, whatever
        // comes meanwhile (it waits behind what failed).
        wake_.wait_for(lock, retryIn_, [&] { return stopping_; });
        if (stopping_) return;  // stop() tries once more
      }
      writerIdle_ = false;
      if (std::chrono::steady_clock::now() - lastCommit < kBusy) {
        wake_.wait_for(lock, kGroupDelay, [&] { return stopping_ || queuedWrites_ >= kGroupSize; });
      }
      batch.swap(queue_);
      writes = std::exchange(queuedWrites_, 0);
    }
    attempt(batch, writes);
    lastCommit = std::chrono::steady_clock::now();
    batch.clear();
  }
}

void SqliteStore::attempt(std::vector<Write>& batch, std::size_t writes) {
  // What a failed commit left goes first: a waiter learns the fate of every
  // write queued before it.
  if (!unwritten_.empty()) {
    writes += unwritten_.size();
    batch.insert(batch.begin(), std::make_move_iterator(unwritten_.begin()),
                 std::make_move_iterator(unwritten_.end()));
    unwritten_.clear();
  }
  const auto started = std::chrono::steady_clock::now();
  const Outcome outcome = commit(batch);
  CommitReport report{std::chrono::steady_clock::now() - started, writes, 0, outcome.committed};
  if (outcome.committed) {
    retryIn_ = kFirstRetry;
  } else {
    // Kept, never dropped, and retried with a growing back-off.
    for (Write& w : batch) {
      if (isChange(w)) unwritten_.push_back(std::move(w));
    }
    spdlog::warn("store '{}': {} writes kept, next try in {} ms", options_.path, unwritten_.size(),
                 retryIn_.count());
    retryIn_ = std::min(retryIn_ * 2, kLastRetry);
  }
  {
    std::lock_guard lock(mutex_);
    healthy_ = outcome.committed;
    unwrittenCount_ = unwritten_.size();
    report.queued = queuedWrites_ + unwrittenCount_;
  }
  // Every waiter of this batch is told, after /healthz knows: true only if
  // everything queued before it is stored (an unencodable write is refused,
  // never stored).
  tell(batch, outcome.committed && outcome.allEncoded);
  if (report_) guarded(Boundary::StoreCommit, [&] { report_(report); });
}

SqliteStore::Outcome SqliteStore::commit(std::vector<Write>& batch) {
  // A binding or request written more than once in one group is written
  // once, in its last state: a request is typically saved when sent and
  // updated when answered, and then only its insert is written.
  std::vector<bool> skip(batch.size(), false);
  {
    std::unordered_map<std::uint64_t, std::size_t> bindingAt;
    std::unordered_map<std::uint64_t, std::size_t> requestAt;
    auto last = [&](auto& at, auto key, std::size_t i) {
      const auto [it, first] = at.try_emplace(std::move(key), i);
      if (!first) skip[std::exchange(it->second, i)] = true;
    };
    for (std::size_t i = 0; i < batch.size(); ++i) {
      Write& w = batch[i];
      if (const auto* b = std::get_if<Binding>(&w)) {
        last(bindingAt, b->id, i);
      } else if (const auto* rb = std::get_if<RemoveBinding>(&w)) {
        last(bindingAt, rb->id, i);
      } else if (const auto* r = std::get_if<RequestRecord>(&w)) {
        last(requestAt, r->id, i);
      } else if (const auto* rr = std::get_if<RemoveRequest>(&w)) {
        last(requestAt, rr->id, i);
      } else if (auto* u = std::get_if<UpdateRequest>(&w)) {
        const auto it = requestAt.find(u->id);
        Write* earlier = it == requestAt.end() ? nullptr : &batch[it->second];
        if (auto* saved = earlier ? std::get_if<RequestRecord>(earlier) : nullptr) {
          saved->progress = std::move(u->progress);  // inserted in its last state
          skip[i] = true;
        } else if (earlier && std::holds_alternative<RemoveRequest>(*earlier)) {
          skip[i] = true;  // nothing left to update
        } else {
          last(requestAt, u->id, i);
        }
      }
    }
  }
  // What was folded into a later write goes: a retry must not fold it again.
  {
    std::size_t k = 0;
    std::erase_if(batch, [&](const Write&) { return skip[k++]; });
  }
  Statements& s = *statements_;
  bool ok = step(s.begin), allEncoded = true;
  std::vector<bool> refused(batch.size(), false);
  for (std::size_t i = 0; i < batch.size() && ok; ++i) {
    // A write that cannot be encoded (it should not happen: wire bytes are
    // kept as bytes) is refused alone, and never kept for a retry; the
    // waiters of its batch are told that it failed.
    bool written = true;
    if (!guarded(Boundary::StoreEncode, [&] { written = write(batch[i]); })) {
      allEncoded = false;
      refused[i] = true;
    }
    ok = written;
  }
  if (ok) ok = step(s.commit);
  if (!ok) {
    spdlog::error("store '{}': commit of {} writes failed: {}", options_.path, batch.size(),
                  sqlite3_errmsg(db_));
    step(s.rollback);
  }
  if (!allEncoded) {
    std::size_t k = 0;
    std::erase_if(batch, [&](const Write&) { return refused[k++]; });
  }
  return {ok, allEncoded};
}

bool SqliteStore::write(const Write& w) {
  Statements& s = *statements_;
  bool ok = true;
  if (const auto* b = std::get_if<Binding>(&w)) {
    ok = step(s.saveBinding, i64(b->id), i64(b->updated), b->aor, b->contact, b->instance, b->regId,
              b->tempGruu, std::string(toString(b->transport)), b->sourceHost,
              std::int64_t{b->sourcePort}, ms(b->expires),
              b->path.empty() ? std::string() : wireJson(b->path).dump(), b->callId,
              std::int64_t{b->cseq}, double{b->q}, encodePackages(b->packages),
              std::int64_t{b->unreachable}, b->dialogId, encodeDialog(*b), b->listener,
              b->push.provider, b->push.prid, b->push.param);
  } else if (const auto* rb = std::get_if<RemoveBinding>(&w)) {
    ok = step(s.removeBinding, i64(rb->id));
  } else if (const auto* r = std::get_if<RequestRecord>(&w)) {
    const RequestProgress& p = r->progress;
    ok = step(s.saveRequest, i64(r->id), r->appServer, r->params.requestId, encodeParams(r->params),
              std::string(toString(p.state)), encodeDeliveries(p.deliveries), ms(r->createdAt),
              ms(r->queueUntil), ms(p.nextAttempt), ms(p.endedAt), std::int64_t{p.rounds},
              std::int64_t{p.cancelled}, encodeRefusedBy(p.refusedBy));
  } else if (const auto* u = std::get_if<UpdateRequest>(&w)) {
    const RequestProgress& p = u->progress;
    ok = step(s.updateRequest, i64(u->id), std::string(toString(p.state)),
              encodeDeliveries(p.deliveries), ms(p.nextAttempt), ms(p.endedAt),
              std::int64_t{p.rounds}, std::int64_t{p.cancelled}, encodeRefusedBy(p.refusedBy));
  } else if (const auto* rr = std::get_if<RemoveRequest>(&w)) {
    ok = step(s.removeRequest, i64(rr->id));
  } else if (const auto* a = std::get_if<SetAccessible>(&w)) {
    ok = step(s.setMeta, std::string("accessible_since"), std::to_string(ms(a->since)));
  } else if (const auto* k = std::get_if<SetDialogKeys>(&w)) {
    ok = step(s.setMeta, std::string("dialog_keys"), encodeKeys(k->keys));
  }
  return ok;
}

}  // namespace beckon::store
