// The cluster's store: one Redis (hiredis), behind the core's Store
// interface, as the SQLite store is. The core's thread only queues writes;
// one writer thread sends everything queued in one MULTI/EXEC and, once
// Redis has answered EXEC, runs the whenCommitted() callbacks itself and
// tells the core's thread which afterCommit() callbacks it may run. A
// write's waiter is told true only once Redis has it (with `appendfsync
// always`, once it is on Redis's disk: docs/operator-guide.md).
//
// Keys, all under "beckon:<node>:" (the node that owns the flows):
//   bindings            set of binding ids
//   binding:<id>        hash: the binding's fields, bytes as the device sent them,
//                       and `node`, the node that holds its flow
//   requests            sorted set of request ids (score: the id)
//   request:<id>        hash: the contact request
//   meta                hash: accessible_since, dialog_keys
// and "beckon:nodes", a hash of every node's advertised SIP URI.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "ports.h"
#include "sqlite_store.h"  // StoreError, CommitReport
#include "store.h"

struct redisContext;

namespace beckon::store {

// redis://[[user]:password@]host[:port][/db]
struct RedisAddress {
  std::string host;
  std::uint16_t port = 6379;
  std::string user;  // Redis 6 ACL user; empty: "default"
  std::string password;
  int db = 0;
  bool tls = false;  // rediss://
  // The URL without its password, for logs and /healthz.
  std::string display() const;
};

// Throws std::invalid_argument saying what is wrong with `url`.
RedisAddress parseRedisUrl(std::string_view url);

struct RedisOptions {
  std::string url = "redis://127.0.0.1:6379/0";
  std::string node = "beckon";  // [cluster] node: its keys' namespace
  std::string advertise;        // [cluster] advertise: the SIP URI other nodes reach it by
  std::chrono::milliseconds timeout{2000};  // to connect, and for one command
};

class RedisStore final : public Store {
 public:
  // Parses the URL (throws StoreError naming it); connects only in load(),
  // start() or commitQueued().
  RedisStore(RedisOptions options, Executor& executor);
  ~RedisStore() override;
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  // This node's bindings and requests; call before start(). Throws
  // StoreError when Redis cannot be reached or a record does not decode.
  StoredState load();
  void start();
  // Sends what is queued and stops the writer.
  void stop();
  // One commit of what is queued (and of what failed before), on the calling
  // thread: for a store that was not start()ed (tests).
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

  void onCommit(std::function<void(const CommitReport&)> report) { report_ = std::move(report); }
  // False once a commit has failed, until one succeeds again: the writes of
  // a failed commit are kept and tried again (after 100 ms, doubling up to
  // 1 s), never dropped; until they are stored every waiter is told false,
  // at once (it does not wait for the next try).
  bool healthy() const;
  // The connection to Redis is up (the writer PINGs it when idle, every second).
  bool linked() const;
  // Why the link is down ("" when it is up).
  std::string linkError() const;
  std::size_t queued() const;
  const RedisAddress& address() const { return address_; }

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
  using Command = std::vector<std::string>;

  static bool isChange(const Write& w) {
    return !std::holds_alternative<Barrier>(w) && !std::holds_alternative<Notice>(w);
  }
  void push(Write w);
  void run();
  void attempt(std::vector<Write>& batch, std::size_t writes);
  // Sends `commands` (MULTI, the writes') and EXEC; false when Redis did not
  // take all of it.
  bool commit(std::vector<Command>& commands, std::size_t writes);
  // The commands of one write (throws if it cannot be encoded).
  void encode(const Write& w, std::vector<Command>& out) const;
  void tell(std::vector<Write>& batch, bool ok);
  // Connects (and AUTH, SELECT) if not connected; false with linkError set.
  bool connect();
  void disconnect(const std::string& why);
  // Sends the commands pipelined and reads every reply; the replies are
  // handed to `reply` (index, reply). False on an I/O or a Redis error.
  bool roundTrip(const std::vector<Command>& commands,
                 const std::function<void(std::size_t, const void*)>& reply);
  void setLink(bool up, const std::string& why);
  std::string key(std::string_view name) const { return prefix_ + std::string(name); }

  RedisOptions options_;
  RedisAddress address_;
  std::string prefix_;
  Executor& executor_;
  redisContext* redis_ = nullptr;  // the writer's (or load()'s) only
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Write> queue_;
  std::size_t queuedWrites_ = 0;
  bool stopping_ = false;
  bool healthy_ = true;
  bool linked_ = false;
  std::string linkError_ = "not connected yet";
  std::size_t unwrittenCount_ = 0;
  std::vector<Write> unwritten_;  // the writer's: changes a failed commit kept
  std::chrono::milliseconds retryIn_ = kFirstRetry;
  static constexpr std::chrono::milliseconds kFirstRetry{100}, kLastRetry{1000};
  static constexpr std::chrono::milliseconds kPingEvery{1000};
  std::thread writer_;
  std::function<void(const CommitReport&)> report_;
};

}  // namespace beckon::store
