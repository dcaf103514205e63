// Devices woken by a push (RFC 8599 4.2.2): a device that registered with
// push parameters and has no live flow is pushed, and whatever is due for it
// (a contact-me NOTIFY, a call) waits until it registers again, or until the
// wait configured for its provider ends. One push per device at a time: a
// second request for a device already being woken waits for the same push.
// And the refresh pushes of 4.2.1: a binding about to expire without a live
// flow is pushed, so that the device registers again in time.
//
// Lives on the core's thread, in the core (Core::wakeups()); the proxy uses
// it for calls, the core for contact-me requests.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "binding.h"
#include "clock.h"
#include "push.h"

namespace beckon {

class BindingTable;
class Counter;
class Gauge;
class Histogram;
class MetricRegistry;

// The core's side of [push].
struct PushConfig {
  // Each configured provider (its pn-provider value) and how long what is
  // due for a device it wakes waits for the device to register again.
  std::map<std::string, std::chrono::milliseconds> providers;
  // A binding without a live flow is pushed this long before it expires
  // (4.2.1), once per registration; 0: never.
  std::chrono::seconds refreshBefore{120};
};

struct WakeOutcome {
  enum class Stage {
    Pushed,      // the gateway took the push; the wait goes on
    Registered,  // the device registered again: send now (bindingId)
    Failed,      // the push did not go out (detail says why): nothing will come
    TimedOut,    // pushed, but the device did not register in time
  };
  Stage stage = Stage::Pushed;
  std::string provider;
  std::uint64_t bindingId = 0;  // Registered: the binding as it is now
  std::string detail;           // Pushed: "HTTP 200"; Failed: the problem
  std::chrono::milliseconds waited{0};
};

class Wakeups {
 public:
  using Listener = std::function<void(const WakeOutcome&)>;

  Wakeups(const Clock& clock, PushSender& sender, PushConfig config);
  ~Wakeups();
  Wakeups(const Wakeups&) = delete;
  Wakeups& operator=(const Wakeups&) = delete;

  const PushConfig& config() const { return config_; }
  // Whether `b` must be woken before anything is sent to it: it has push
  // parameters of a configured provider, and no live flow (its connection
  // is closed, gone with a restart, or it is UDP, whose NAT binding nobody
  // can see: 4.2.2's default, push first).
  bool needsWake(const Binding& b) const;

  // Pushes `b`'s device (unless a push for it is out already) and waits for
  // it to register again, at most its provider's wait (and at most `atMost`
  // when given). `done` hears Pushed (perhaps), then exactly one of
  // Registered, Failed and TimedOut; it may run before wake() returns.
  // `request` needs only what is particular to the caller (reason and
  // ids); the rest comes from `b`. Returns the wait's id for cancel().
  std::uint64_t wake(const Binding& b, PushRequest request, Listener done,
                     std::optional<std::chrono::milliseconds> atMost = std::nullopt);
  // The wait ends without a word to its listener (a cancelled call).
  void cancel(std::uint64_t id);
  // `b` was registered or refreshed (its 200 is out): the waits for its
  // device end, Registered.
  void registered(const Binding& b);
  // `b` was stored or restored: its refresh push is due refreshBefore
  // before it expires.
  void scheduleRefresh(const Binding& b);
  // Waits that ran out, and refresh pushes that are due.
  void tick(const BindingTable& bindings);

  std::size_t waiting() const { return waiters_.size(); }
  // Counters and the gauge of waits, in `registry` (before the core's
  // thread owns it).
  void setMetrics(MetricRegistry& registry);

 private:
  struct Waiter;
  struct Device;

  std::string deviceKey(const Binding& b) const;
  std::chrono::milliseconds waitFor(const std::string& provider) const;
  void fill(PushRequest& request, const Binding& b);
  void onPushed(const std::string& key, std::uint64_t generation, const PushResult& result);
  // Ends waits (already out of waiters_) with `outcome`; listeners may
  // start or cancel others meanwhile.
  void end(std::vector<Waiter> ended, WakeOutcome outcome);
  void publish();

  const Clock& clock_;
  PushSender& sender_;
  PushConfig config_;
  std::uint64_t nextWait_ = 1;
  std::uint64_t nextPush_ = 1;
  std::uint64_t nextGeneration_ = 1;
  std::string idPrefix_;  // random per process: push ids never repeat across restarts
  std::unordered_map<std::uint64_t, Waiter> waiters_;
  std::unordered_map<std::string, Device> devices_;
  std::multimap<TimePoint, std::uint64_t> deadlines_;  // stale entries are skipped
  // When each binding's refresh push is due, with the expiry it was for;
  // one entry per binding (a refresh replaces it).
  using Refreshes = std::multimap<TimePoint, std::pair<std::uint64_t, TimePoint>>;
  Refreshes refreshes_;
  std::unordered_map<std::uint64_t, Refreshes::iterator> refreshOf_;

  Counter* registered_ = nullptr;
  Counter* failed_ = nullptr;
  Counter* timedOut_ = nullptr;
  Counter* cancelled_ = nullptr;
  Counter* refreshPushes_ = nullptr;
  Gauge* waits_ = nullptr;
  Histogram* wakeTime_ = nullptr;
};

}  // namespace beckon
