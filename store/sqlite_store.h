// The embedded store: one SQLite file in WAL mode. The core's thread only
// queues writes; one writer thread commits them in groups (all that queued
// while the previous commit ran, and under load what comes within a short
// delay), then runs the whenCommitted() callbacks itself and tells the
// core's thread which afterCommit() callbacks it may run.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "write_queue.h"

struct sqlite3;

namespace beckon::store {

// The schema this build writes; older stores are migrated when opened.
inline constexpr int kSchemaVersion = 4;

struct SqliteOptions {
  std::string path = "beckon.db";
  // "full": a commit survives a power cut; "normal": it survives a crash or
  // kill of beckond (the WAL is on disk), not a power cut.
  std::string synchronous = "full";
};

class SqliteStore final : public QueuedStore {
 public:
  // Opens (creating if needed) and migrates the store. `executor` runs the
  // afterCommit callbacks on the core's thread. Throws StoreError naming the
  // file and the problem.
  SqliteStore(SqliteOptions options, Executor& executor);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // Everything saved; call before start().
  StoredState load();
  void start();  // the writer thread; stop() and commitQueued(): write_queue.h

  // healthy(): false once a commit has failed, until one succeeds again:
  // the writes of a failed commit are kept and tried again (after 100 ms,
  // doubling up to 5 s), never dropped, and until they are stored every
  // waiter is told false.

 private:
  class Statements;

  struct Outcome {
    bool committed;   // the transaction was committed
    bool allEncoded;  // and it held every write of the batch (none was refused)
  };
  void run();
  void attempt(std::vector<Write>& batch, std::size_t writes) override;
  std::string name() const override { return "store '" + options_.path + "'"; }
  // Folds repeated writes, drops the ones that cannot be encoded.
  Outcome commit(std::vector<Write>& batch);
  // One write's statement; false when SQLite refused it.
  bool write(const Write& w);

  SqliteOptions options_;
  sqlite3* db_ = nullptr;
  std::unique_ptr<Statements> statements_;
  // When the writer tries again after a failed commit.
  std::chrono::milliseconds retryIn_ = kFirstRetry;
  static constexpr std::chrono::milliseconds kFirstRetry{100}, kLastRetry{5000};
};

}  // namespace beckon::store
