// Nodes on one Redis hand a ContactMe to each other through Redis pub/sub
// (docs/cluster.md, docs/decisions.md): a node that gets a ContactMe for a
// device it has no binding for publishes it on every other node's channel
// "beckon:relay:<node>"; each answers on "beckon:reply:<asker>" with the
// status (the node that holds the device's flow sends the NOTIFY over it)
// or "not here". The first status wins; none: the asker handles it itself.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "binding.h"
#include "contact_request.h"
#include "redis_store.h"

namespace beckon::store {

class RedisRelay {
 public:
  // What a relayed ContactMe runs on the node that got it: the status, or
  // nullopt for a device without a binding there. May throw Fault.
  using Handler = std::function<std::optional<ContactStatus>(const std::string& caller,
                                                             const ContactMeParams&)>;
  // What a relayed GetDevice runs: the device's bindings there (none: empty).
  using DeviceHandler =
      std::function<std::vector<Binding>(const std::string& caller, const std::string& deviceId)>;

  explicit RedisRelay(RedisOptions options);
  ~RedisRelay();
  RedisRelay(const RedisRelay&) = delete;
  RedisRelay& operator=(const RedisRelay&) = delete;

  void start(Handler handler, DeviceHandler devices);
  void stop();

  // Offers the ContactMe to every other node (beckon:nodes) and waits, at
  // most `wait`, for their answers. Throws Fault when the node that has the
  // device refused it.
  std::optional<ContactStatus> ask(const std::string& caller, const ContactMeParams& params,
                                   std::chrono::milliseconds wait);
  // The device's bindings on every other node that answers within `wait`.
  std::vector<Binding> devices(const std::string& caller, const std::string& deviceId,
                               std::chrono::milliseconds wait);

 private:
  struct Pending {
    std::size_t expected = 0, answered = 0;
    bool first = false;                // done at the first answer that is not "none"
    std::vector<std::string> replies;  // those answers, as JSON
  };
  // Publishes `message` (its "id" and "from" added) to every other node and
  // waits for their answers.
  std::vector<std::string> broadcast(nlohmann::json message, bool first,
                                     std::chrono::milliseconds wait);
  void listen();
  void serve(std::string message);
  bool publish(const std::string& channel, const std::string& message);

  RedisOptions options_;
  RedisAddress address_;
  Handler handler_;
  DeviceHandler devices_;
  std::atomic<bool> stopping_{false};
  std::thread listener_;
  std::mutex mutex_;
  std::condition_variable answered_;
  std::map<std::uint64_t, Pending> pending_;
  std::uint64_t next_ = 1;
  // Relayed requests wait here for one of kWorkers threads (each may wait
  // for a ContactMe's waitMs); past kBacklog they are answered "none".
  static constexpr std::size_t kWorkers = 8, kBacklog = 1024;
  std::vector<std::thread> workers_;
  std::vector<std::string> work_;
  std::condition_variable workReady_;
  int subscriberFd_ = -1;  // the listener's socket, for stop() to shut down
};

}  // namespace beckon::store
