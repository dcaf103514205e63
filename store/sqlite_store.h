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

#include "ports.h"
#include "store.h"

struct sqlite3;

namespace beckon::store {

// The schema this build writes; older stores are migrated when opened.
inline constexpr int kSchemaVersion = 4;

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SqliteOptions {
  std::string path = "beckon.db";
  // "full": a commit survives a power cut; "normal": it survives a crash or
  // kill of beckond (the WAL is on disk), not a power cut.
  std::string synchronous = "full";
};

// What one group commit did, for the metrics.
struct CommitReport {
  std::chrono::nanoseconds duration{0};
  std::size_t writes = 0;  // saves and removals (afterCommit/whenCommitted callbacks are not)
  std::size_t queued = 0;  // writes waiting when it ended
  bool ok = true;
};

class SqliteStore final : public Store {
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
  void start();
  // Commits what is queued and stops the writer.
  void stop();
  // One commit of what is queued (and of what failed before), on the calling
  // thread, as the writer would make it: for a store that was not start()ed
  // (tests drive the writer by hand with it).
  void commitQueued();

  void saveBinding(const Binding& binding) override;
  void removeBinding(std::uint64_t id) override;
  void saveRequest(RequestRecord request) override;
  void updateRequest(std::uint64_t id, RequestProgress progress) override;
  void removeRequest(std::uint64_t id) override;
  void setAccessibleSince(TimePoint since) override;
  void saveDialogKeys(const std::vector<DialogKey>& keys) override;
  void afterCommit(std::function<void(bool committed)> done) override;
  void whenCommitted(std::function<void(bool committed)> done) override;

  // Called on the writer thread after every group commit.
  void onCommit(std::function<void(const CommitReport&)> report) { report_ = std::move(report); }
  // False once a commit has failed, until one succeeds again: the writes of
  // a failed commit are kept and tried again (after 100 ms, doubling up to
  // 5 s), never dropped, and until they are stored every waiter is told
  // false.
  bool healthy() const;
  // Writes waiting: queued, and kept from a failed commit.
  std::size_t queued() const;

 private:
  struct RemoveBinding {
    std::uint64_t id;
  };
  struct UpdateRequest {
    std::uint64_t id;
    RequestProgress progress;
  };
  struct RemoveRequest {
    std::uint64_t id;
  };
  struct SetAccessible {
    TimePoint since;
  };
  struct SetDialogKeys {
    std::vector<DialogKey> keys;
  };
  using Barrier = std::function<void(bool)>;  // run on the core's thread
  struct Notice {                             // run on the writer's thread
    std::function<void(bool)> done;
  };
  using Write = std::variant<Binding, RemoveBinding, RequestRecord, UpdateRequest, RemoveRequest,
                             SetAccessible, SetDialogKeys, Barrier, Notice>;
  class Statements;

  // A change to the rows, as counted in CommitReport and queued(); the
  // callbacks waiting for a commit are not.
  static bool isChange(const Write& w) {
    return !std::holds_alternative<Barrier>(w) && !std::holds_alternative<Notice>(w);
  }
  struct Outcome {
    bool committed;   // the transaction was committed
    bool allEncoded;  // and it held every write of the batch (none was refused)
  };
  void push(Write w);
  void run();
  // One try: commits the batch after what a failed commit kept, tells its
  // waiters, keeps its writes when it fails. On the writer's thread.
  void attempt(std::vector<Write>& batch, std::size_t writes);
  // Folds repeated writes, drops the ones that cannot be encoded.
  Outcome commit(std::vector<Write>& batch);
  // One write's statement; false when SQLite refused it.
  bool write(const Write& w);
  // Runs the batch's notices and posts its barriers to the core's thread.
  void tell(std::vector<Write>& batch, bool ok);

  SqliteOptions options_;
  Executor& executor_;
  sqlite3* db_ = nullptr;
  std::unique_ptr<Statements> statements_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Write> queue_;
  std::size_t queuedWrites_ = 0;  // of queue_, the changes (not the callbacks)
  bool stopping_ = false;
  bool writerIdle_ = false;  // the writer waits for a first write
  bool healthy_ = true;
  std::size_t unwrittenCount_ = 0;  // unwritten_.size(), for queued()
  // The writer's own (or the caller's of commitQueued()): changes a failed
  // commit kept, and when it tries again.
  std::vector<Write> unwritten_;
  std::chrono::milliseconds retryIn_ = kFirstRetry;
  static constexpr std::chrono::milliseconds kFirstRetry{100}, kLastRetry{5000};
  std::thread writer_;
  std::function<void(const CommitReport&)> report_;
};

}  // namespace beckon::store
