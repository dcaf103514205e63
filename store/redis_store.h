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

#include "write_queue.h"

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

class RedisStore final : public QueuedStore {
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
  void start();  // the writer thread; stop() and commitQueued(): write_queue.h

  // healthy(): false once a commit has failed, until one succeeds again:
  // the writes of a failed commit are kept and tried again (after 100 ms,
  // doubling up to 1 s), never dropped; until they are stored every waiter
  // is told false, at once (it does not wait for the next try).
  // The connection to Redis is up (the writer PINGs it when idle, every second).
  bool linked() const;
  // Why the link is down ("" when it is up).
  std::string linkError() const;
  const RedisAddress& address() const { return address_; }

 private:
  using Command = std::vector<std::string>;

  void run();
  void attempt(std::vector<Write>& batch, std::size_t writes) override;
  std::string name() const override { return "store " + address_.display(); }
  // Sends `commands` (MULTI, the writes') and EXEC; false when Redis did not
  // take all of it.
  bool commit(std::vector<Command>& commands, std::size_t writes);
  // The commands of one write (throws if it cannot be encoded).
  void encode(const Write& w, std::vector<Command>& out) const;
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
  redisContext* redis_ = nullptr;  // the writer's (or load()'s) only
  bool linked_ = false;
  std::string linkError_ = "not connected yet";
  std::chrono::milliseconds retryIn_ = kFirstRetry;
  static constexpr std::chrono::milliseconds kFirstRetry{100}, kLastRetry{1000};
  static constexpr std::chrono::milliseconds kPingEvery{1000};
};

}  // namespace beckon::store
