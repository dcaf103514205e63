// The core: bindings, their device index, and contact requests with their
// state machine. Lives on one thread (the SIP thread); nothing here locks.
#pragma once

#include <cstdint>
#include <deque>
#include <set>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "binding_table.h"
#include "body.h"
#include "clock.h"
#include "contact_request.h"
#include "fault.h"
#include "admission.h"
#include "ports.h"
#include "store.h"
#include "wakeups.h"

namespace beckon {

class Metrics;

struct CoreConfig {
  std::vector<std::string> packages{kDefaultPackage};
  std::chrono::seconds keepEnded{3600};  // how long ended requests stay for GetContactRequest
  std::chrono::milliseconds retryFirst{
      1000};  // back-off of a queued request after all attempts failed
  std::chrono::milliseconds retryMax{60000};
  Limits limits;  // [limits]: queuedRequests and queuedRequestsPerAppServer apply here
};

using StatusListener = std::function<void(const ContactStatus&)>;

class Core {
 public:
  Core(const Clock& clock, NotifySender& sender, CoreConfig config = {});
  ~Core();
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  const CoreConfig& config() const { return config_; }
  const BindingTable& bindings() const { return bindings_; }

  // Registrar side. upsertBinding stores a new or refreshed binding (the table
  // decides which) and delivers queued requests it now makes reachable.
  std::uint64_t upsertBinding(Binding binding);
  // The two halves of upsertBinding, for a registrar that answers the
  // REGISTER between them (its 200 before the NOTIFYs it makes possible).
  std::uint64_t storeBinding(Binding binding);
  void reachWaiting(std::uint64_t id);
  void removeBinding(std::uint64_t id);

  // Application-server side. `params` must have passed validate(). The
  // listener is told the status now and at every change until it settles.
  // Throws Fault.
  ContactStatus contactMe(const Caller& caller, ContactMeParams params,
                          StatusListener listener = nullptr);
  ContactStatus status(const Caller& caller, const std::string& requestId) const;
  // A queued request ends cancelled; one being notified ends cancelled unless
  // a device answers 2xx; an ended one stays as it is. Throws Fault.
  ContactStatus cancel(const Caller& caller, const std::string& requestId);
  // The bindings a device id names (copies without their flows, for other threads).
  std::vector<Binding> device(const std::string& deviceId) const;

  void setNoticeSink(NoticeSink* sink) { notices_ = sink; }
  // RFC 8599: devices with push parameters and no live flow are pushed
  // through `sender` before their NOTIFYs (and calls, by the proxy) go out.
  // After setMetrics, before the core's thread owns the core.
  void setPush(PushSender& sender, PushConfig config);
  Wakeups* wakeups() { return wakeups_.get(); }
  const Wakeups* wakeups() const { return wakeups_.get(); }
  // Before the SIP thread owns the core; the registrar and event server use it too.
  void setMetrics(Metrics* metrics) { metrics_ = metrics; }
  Metrics* metrics() const { return metrics_; }

  // Every change is saved to `store` from then on (none: nothing survives a
  // restart). Set it before the core's thread owns the core.
  void setStore(Store* store) { store_ = store; }
  // Runs `done` once every change made so far is committed: at once, with
  // true, without a store. What beckond acknowledges waits for this.
  // The proxy's dialog keys, to the store (if any); afterCommit() tells when.
  void saveDialogKeys(const std::vector<DialogKey>& keys);
  void afterCommit(std::function<void(bool committed)> done);
  // Store::whenCommitted: `done` may run on another thread (at once without a store).
  void whenCommitted(std::function<void(bool committed)> done);
  // Puts back what a previous run saved, dropping what expired meanwhile:
  // the bindings first (`attach` gives each its flow and dialog again, or
  // marks it unreachable), then the requests. A request whose NOTIFYs were
  // out when beckond stopped is sent again: a device may get it twice, but
  // no acknowledged request is lost.
  void restore(StoredState state, const std::function<void(Binding&)>& attach);

  // Explicit subscriptions (RFC 6665). How many queued requests wait for this
  // (candidate) subscription: the NOTIFYs it gets at once when it is stored.
  std::size_t waitingFor(const Binding& b, const std::string& package) const;
  // The NOTIFY with the current state when nothing is pending: "state: idle".
  void notifyIdle(std::uint64_t id);
  // Ends a subscription with a final NOTIFY "terminated;reason=...".
  void endSubscription(std::uint64_t id, const std::string& reason);

  // Timers: expiry of bindings and queued requests, retries, clean-up of ended
  // requests. Call it often (the SIP thread does every 100 ms).
  void tick();

  std::size_t requestCount() const { return requests_.size(); }
  std::size_t queuedCount() const { return queued_; }
  // Requests not yet ended (queued or being notified), in all and of one
  // application server: what [limits] queued_requests* bound.
  std::size_t openCount() const { return openTotal_; }
  std::size_t openCount(const std::string& appServer) const;

 private:
  struct Request;
  using RequestKey = std::pair<std::string, std::string>;  // application server, requestId

  static TimePoint dueOf(const Request& r);
  void schedule(const Request& r);
  std::set<RequestKey> waitingKeys(const Binding& b) const;
  void prepare(Request& r);
  void attempt(Request& r);
  void notifyBinding(Request& r, const Binding& b, TimePoint now);
  void wakeBinding(Request& r, const Binding& b, TimePoint now);
  void onWake(const RequestKey& key, std::size_t delivery, const WakeOutcome& outcome);
  void onOutcome(const RequestKey& key, std::size_t delivery, const NotifyOutcome& outcome);
  void settleIfDone(Request& r);
  void publish(Request& r);
  std::vector<const Binding*> targets(const Request& r) const;
  void finish(Request& r, RequestState s);
  void sendState(const Binding& b, const std::string& subscriptionState);
  // Every state change goes through here: it keeps the queue indexes true.
  void setState(Request& r, RequestState s);
  Request& find(const Caller& caller, const std::string& requestId) const;
  // The store's side of every change.
  void save(Request& r);
  void saveBinding(std::uint64_t id);

  const Clock& clock_;
  NotifySender& sender_;
  CoreConfig config_;
  BindingTable bindings_;
  std::map<RequestKey, std::unique_ptr<Request>> requests_;
  std::uint64_t nextStoreId_ = 1;  // the next request's key in the store
  // Queued requests: how many, when the timers look at each next (entries
  // are not removed when a request changes: tick() skips stale ones), and
  // the device keys they wait for ("kind:value"), so that a REGISTER and the
  // timers look only at what waits.
  std::size_t queued_ = 0;
  std::multimap<TimePoint, RequestKey> due_;
  std::multimap<std::string, RequestKey> waitingFor_;
  // Ended requests in the order they ended, for the clean-up after keepEnded.
  std::deque<std::pair<TimePoint, RequestKey>> ended_;
  // Requests not yet ended, in all and per application server.
  std::size_t openTotal_ = 0;
  std::map<std::string, std::size_t> openByAppServer_;
  NoticeSink* notices_ = nullptr;
  Metrics* metrics_ = nullptr;
  Store* store_ = nullptr;
  std::unique_ptr<Wakeups> wakeups_;  // null without [push]
};

}  // namespace beckon
