// What both stores (sqlite_store.h, redis_store.h) share: the core's thread
// only queues writes here, in order, with the callbacks waiting for them;
// the backend's one writer thread takes them in batches, commits each batch
// its own way and tells the batch's waiters (tell()).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "ports.h"
#include "store.h"

namespace beckon::store {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What one group commit did, for the metrics.
struct CommitReport {
  std::chrono::nanoseconds duration{0};
  std::size_t writes = 0;  // saves and removals (afterCommit/whenCommitted callbacks are not)
  std::size_t queued = 0;  // writes waiting when it ended
  bool ok = true;
};

class QueuedStore : public Store {
 public:
  void saveBinding(const Binding& binding) override;
  void removeBinding(std::uint64_t id) override;
  void saveRequest(RequestRecord request) override;
  void updateRequest(std::uint64_t id, RequestProgress progress) override;
  void removeRequest(std::uint64_t id) override;
  void setAccessibleSince(TimePoint since) override;
  void saveDialogKeys(const std::vector<DialogKey>& keys) override;
  void afterCommit(std::function<void(bool committed)> done) override;
  void whenCommitted(std::function<void(bool committed)> done) override;

  // Commits what is queued and stops the writer thread; what a failing
  // store still holds gets a last try, then is logged as never stored.
  void stop();
  // One commit of what is queued (and of what failed before), on the calling
  // thread, as the writer would make it: for a store that was not started
  // (tests drive the writer by hand with it).
  void commitQueued();

  // Called on the writer's thread after each commit.
  void onCommit(std::function<void(const CommitReport&)> report) { report_ = std::move(report); }
  // False once a commit has failed, until one succeeds again.
  bool healthy() const;
  // Writes waiting: queued, and kept from a failed commit.
  std::size_t queued() const;

 protected:
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

  // A change to the rows, as counted in CommitReport and queued(); the
  // callbacks waiting for a commit are not.
  static bool isChange(const Write& w) {
    return !std::holds_alternative<Barrier>(w) && !std::holds_alternative<Notice>(w);
  }

  // `groupSize`: the writer is woken when it waits for a first write, or
  // when this many changes are queued (a writer that groups them under
  // load); 0: for every write.
  QueuedStore(Executor& executor, std::size_t groupSize);

  // Runs the batch's notices and posts its barriers to the core's thread.
  void tell(std::vector<Write>& batch, bool ok);
  // One try: commits the batch after what a failed commit kept (unwritten_),
  // tells its waiters, keeps its changes when it fails. On the writer's
  // thread, or commitQueued()'s.
  virtual void attempt(std::vector<Write>& batch, std::size_t writes) = 0;
  // The store, for log lines ("store 'beckon.db'").
  virtual std::string name() const = 0;

  Executor& executor_;
  mutable std::mutex mutex_;  // guards what follows, up to report_
  std::condition_variable wake_;
  std::vector<Write> queue_;
  std::size_t queuedWrites_ = 0;  // of queue_, the changes (not the callbacks)
  bool stopping_ = false;
  bool writerIdle_ = false;  // the writer waits for a first write
  bool healthy_ = true;
  std::size_t unwrittenCount_ = 0;  // the writes a failed commit kept, for queued()
  std::function<void(const CommitReport&)> report_;
  // The writer's own (or commitQueued()'s caller's): changes a failed commit kept.
  std::vector<Write> unwritten_;
  std::thread writer_;

 private:
  void push(Write w);
  const std::size_t groupSize_;
};

}  // namespace beckon::store
