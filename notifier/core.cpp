#include "core.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "logfmt.h"
#include "metrics.h"

namespace beckon {

struct Core::Request {
  RequestKey key;
  ContactMeParams params;
  std::string package;
  std::vector<DeviceKey> keys;
  NotifyContent content;
  ContactStatus status;
  TimePoint createdAt;
  TimePoint queueUntil;
  TimePoint nextAttempt;
  TimePoint endedAt;
  unsigned rounds = 0;  // how many times the request was sent to its bindings
  std::size_t inFlight = 0;
  bool sending = false;               // inside attempt(): do not settle yet
  bool cancelled = false;             // cancelled while NOTIFYs were out
  bool inQueue = false;               // counted in queued_ and in waitingFor_
  bool open = false;                  // counted in openTotal_ and openByAppServer_
  std::uint64_t storeId = 0;          // from its first save; later saves are updates
  std::set<std::uint64_t> refusedBy;  // bindings that answered a final 4xx: not tried again
  // Deliveries waiting for a pushed device to register, and their waits.
  std::vector<std::pair<std::size_t, std::uint64_t>> wakes;
  std::vector<StatusListener> listeners;
};

namespace {

std::string keyText(DeviceIdKind kind, const std::string& value) {
  return std::string(toString(kind)) + ":" + value;
}

}  // namespace

void Core::setState(Request& r, RequestState s) {
  if (metrics_) metrics_->requestMoved(r.status.state, s);
  r.status.state = s;
  if (const bool open = !isFinal(s); open != r.open) {
    r.open = open;
    if (open) {
      ++openTotal_;
      ++openByAppServer_[r.key.first];
    } else if (--openTotal_, --openByAppServer_[r.key.first] == 0) {
      openByAppServer_.erase(r.key.first);
    }
  }
  const bool queue = s == RequestState::Queued;
  if (queue == r.inQueue) return;
  r.inQueue = queue;
  if (queue) {
    ++queued_;
    schedule(r);
    for (const DeviceKey& k : r.keys)
      waitingFor_.emplace(keyText(k.kind, k.value), r.key);
    return;
  }
  --queued_;
  for (const DeviceKey& k : r.keys) {
    auto [first, last] = waitingFor_.equal_range(keyText(k.kind, k.value));
    for (auto it = first; it != last; ++it) {
      if (it->second == r.key) {
        waitingFor_.erase(it);
        break;
      }
    }
  }
}

// When the timers look at a queued request next: its next attempt, or the
// end of its queue time.
TimePoint Core::dueOf(const Request& r) {
  return std::min(r.nextAttempt, r.queueUntil);
}

void Core::schedule(const Request& r) {
  due_.emplace(dueOf(r), r.key);
}

std::set<Core::RequestKey> Core::waitingKeys(const Binding& b) const {
  std::set<RequestKey> waiting;
  auto collect = [&](DeviceIdKind kind, const std::string& value) {
    if (value.empty()) return;
    auto [first, last] = waitingFor_.equal_range(keyText(kind, value));
    for (auto it = first; it != last; ++it)
      waiting.insert(it->second);
  };
  collect(DeviceIdKind::Instance, b.instance);
  collect(DeviceIdKind::Mac, b.mac);
  collect(DeviceIdKind::Aor, b.aor);
  collect(DeviceIdKind::DirectoryNumber, directoryNumberOf(b.aor));
  collect(DeviceIdKind::TempGruu, b.tempGruu);
  return waiting;
}

Core::Core(const Clock& clock, NotifySender& sender, CoreConfig config)
    : clock_(clock), sender_(sender), config_(std::move(config)) {}

Core::~Core() = default;

std::uint64_t Core::storeBinding(Binding binding) {
  // Packages this binding is newly subscribed to: a registration notice each.
  std::vector<std::string> fresh;
  const Binding* old = bindings_.sameBinding(binding);
  for (const auto& sub : binding.packages) {
    if (!old || !old->subscription(sub.package)) fresh.push_back(sub.package);
  }
  const std::uint64_t id = bindings_.upsert(std::move(binding));
  const Binding& b = *bindings_.get(id);
  if (store_) store_->saveBinding(b);
  if (wakeups_) wakeups_->scheduleRefresh(b);
  if (notices_) {
    for (const auto& package : fresh) {
      notices_->deviceRegistered(
          {b.instance.empty() ? b.aor : b.instance, b.aor, b.instance, package, clock_.now()});
    }
  }
  return id;
}

std::uint64_t Core::upsertBinding(Binding binding) {
  const std::uint64_t id = storeBinding(std::move(binding));
  reachWaiting(id);
  return id;
}

void Core::reachWaiting(std::uint64_t id) {
  const Binding* found = bindings_.get(id);
  if (!found) return;
  // A device woken by a push registered again: what waited for it goes out
  // first (RFC 8599 4.2.2), then what was queued.
  if (wakeups_ && !found->explicitSubscription()) {
    wakeups_->registered(*found);
    if (!(found = bindings_.get(id))) return;
  }
  const Binding& b = *found;
  // A binding that is (again) subscribed reaches the requests waiting for it.
  for (const RequestKey& key : waitingKeys(b)) {
    Request& r = *requests_.at(key);
    if (r.status.state == RequestState::Queued && r.inFlight == 0 && b.subscription(r.package)) {
      attempt(r);
    }
  }
}

void Core::removeBinding(std::uint64_t id) {
  if (bindings_.remove(id) && store_) store_->removeBinding(id);
}

void Core::saveBinding(std::uint64_t id) {
  if (const Binding* b = bindings_.get(id); b && store_) store_->saveBinding(*b);
}

void Core::save(Request& r) {
  if (!store_) return;
  RequestProgress p;
  p.state = r.status.state;
  p.deliveries = r.status.deliveries;
  p.nextAttempt = r.nextAttempt;
  p.endedAt = r.endedAt;
  p.rounds = r.rounds;
  p.cancelled = r.cancelled;
  p.refusedBy.assign(r.refusedBy.begin(), r.refusedBy.end());
  if (r.storeId) return store_->updateRequest(r.storeId, std::move(p));
  r.storeId = nextStoreId_++;
  store_->saveRequest({r.storeId, r.key.first, r.params, r.createdAt, r.queueUntil, std::move(p)});
}

void Core::setPush(PushSender& sender, PushConfig config) {
  wakeups_ = std::make_unique<Wakeups>(clock_, sender, std::move(config));
  if (metrics_) wakeups_->setMetrics(metrics_->registry());
}

void Core::saveDialogKeys(const std::vector<DialogKey>& keys) {
  if (store_) store_->saveDialogKeys(keys);
}

void Core::afterCommit(std::function<void(bool committed)> done) {
  if (store_) {
    store_->afterCommit(std::move(done));
  } else {
    done(true);
  }
}

void Core::whenCommitted(std::function<void(bool committed)> done) {
  if (store_) {
    store_->whenCommitted(std::move(done));
  } else {
    done(true);
  }
}

std::vector<const Binding*> Core::targets(const Request& r) const {
  // The first identifier kind that names a subscribed binding decides.
  for (const DeviceKey& key : r.keys) {
    std::vector<const Binding*> found = bindings_.find({key});
    std::erase_if(found, [&](const Binding* b) {
      // A dead flow waits for the device to register again; without queue
      // time it is tried anyway, so that the request fails with its 503.
      // A device that can be pushed is woken instead (attempt()).
      const bool waitForFlow =
          b->unreachable && r.params.queueSeconds > 0 && !(wakeups_ && wakeups_->needsWake(*b));
      return b->subscription(r.package) == nullptr || waitForFlow || r.refusedBy.count(b->id) != 0;
    });
    if (found.empty()) continue;
    // One NOTIFY per request per device: of a device's bindings and
    // subscriptions, its most recent explicit subscription, else its most
    // recently registered binding (flow).
    std::map<std::string, const Binding*> best;
    for (const Binding* b : found) {
      const Binding*& kept = best[b->deviceIdentity()];
      if (!kept || std::pair(b->explicitSubscription(), b->updated) >
                       std::pair(kept->explicitSubscription(), kept->updated)) {
        kept = b;
      }
    }
    std::vector<const Binding*> out;
    for (const auto& [identity, b] : best)
      out.push_back(b);
    std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->id < b->id; });
    return out;
  }
  return {};
}

std::size_t Core::waitingFor(const Binding& b, const std::string& package) const {
  std::size_t n = 0;
  for (const RequestKey& key : waitingKeys(b)) {
    const Request& r = *requests_.at(key);
    if (r.package == package && r.inFlight == 0) ++n;
  }
  return n;
}

void Core::sendState(const Binding& b, const std::string& subscriptionState) {
  for (const PackageSubscription& sub : b.packages) {
    NotifyContent idle;
    idle.state = "idle";
    OutgoingNotify n{sub.package, subscriptionState, contentType(sub.package, sub.format),
                     encode(idle, sub.format), ""};
    sender_.send(b, n, [this, id = b.id, contact = b.contact](const NotifyOutcome& o) {
      spdlog::info("notify state binding={} contact={} status={} reason={}", id, quoted(contact),
                   o.status, quoted(o.reason));
      if (o.status == 481) removeBinding(id);
    });
  }
}

void Core::notifyIdle(std::uint64_t id) {
  const Binding* b = bindings_.get(id);
  if (!b) return;
  const auto left = std::max<long long>(
      0, std::chrono::duration_cast<std::chrono::seconds>(b->expires - clock_.now()).count());
  sendState(*b, "active;expires=" + std::to_string(left));
}

void Core::endSubscription(std::uint64_t id, const std::string& reason) {
  const Binding* b = bindings_.get(id);
  if (!b) return;
  const Binding last = *b;
  removeBinding(id);
  spdlog::info("subscription ended aor={} contact={} instance={} source={} reason={}",
               quoted(last.aor), quoted(last.contact), quoted(last.instance), last.sourceHostPort(),
               quoted(reason));
  if (metrics_) metrics_->subscriptionChanged(Metrics::SubscriptionChange::Ended);
  sendState(last, "terminated;reason=" + reason);
}

ContactStatus Core::contactMe(const Caller& caller, ContactMeParams params,
                              StatusListener listener) {
  RequestKey key{caller.name, params.requestId};
  if (auto it = requests_.find(key); it != requests_.end()) {
    Request& r = *it->second;
    if (!r.params.sameContent(params)) {
      throw Fault(FaultCode::RequestIdConflict,
                  "requestId '" + params.requestId + "' was already used with other content");
    }
    if (listener) {
      listener(r.status);
      if (!r.status.settled) r.listeners.push_back(std::move(listener));
    }
    return r.status;
  }

  auto r = std::make_unique<Request>();
  r->key = key;
  r->params = std::move(params);
  prepare(*r);
  const TimePoint now = clock_.now();
  r->createdAt = now;
  r->queueUntil = now + std::chrono::seconds(r->params.queueSeconds);
  r->nextAttempt = now;

  const bool reachable = !targets(*r).empty();
  if (!reachable && r->params.queueSeconds == 0) {
    spdlog::info("contact-me request={} app={} device={} refused=UnknownDevice", quoted(key.second),
                 quoted(key.first), quoted(r->params.deviceId));
    throw Fault(FaultCode::UnknownDevice,
                "no binding of '" + r->params.deviceId + "' is subscribed to " + r->package);
  }
  // [limits]: a full queue refuses new requests; those already accepted go on.
  const Limits& limits = config_.limits;
  if (openTotal_ >= limits.queuedRequests ||
      openCount(key.first) >= limits.queuedRequestsPerAppServer) {
    const bool all = openTotal_ >= limits.queuedRequests;
    if (metrics_)
      metrics_->limitRefused(all ? Metrics::Limit::QueuedRequests
                                 : Metrics::Limit::QueuedRequestsPerAppServer);
    spdlog::info("contact-me request={} app={} device={} outcome=Overloaded ({} requests open{})",
                 key.second, key.first, r->params.deviceId, all ? openTotal_ : openCount(key.first),
                 all ? "" : " for this application server");
    throw Fault(FaultCode::Overloaded,
                all ? "beckond holds " + std::to_string(openTotal_) +
                          " requests not yet ended (limits.queued_requests); retry later"
                    : "'" + key.first + "' has " + std::to_string(openCount(key.first)) +
                          " requests not yet ended (limits.queued_requests_per_app_server); "
                          "retry later");
  }
  if (listener) r->listeners.push_back(std::move(listener));
  Request& req = *r;
  requests_.emplace(key, std::move(r));
  if (metrics_) metrics_->requestCreated();
  setState(req, RequestState::Queued);
  spdlog::info("contact-me request={} app={} device={} package={} created queue_seconds={}",
               quoted(key.second), quoted(key.first), quoted(req.params.deviceId), req.package,
               req.params.queueSeconds);
  if (reachable) {
    attempt(req);
  } else {
    publish(req);
  }
  return req.status;
}

// What follows from the parameters: the package, the device keys, the body.
void Core::prepare(Request& r) {
  const ContactMeParams& p = r.params;
  r.package = p.package.empty() ? kDefaultPackage : p.package;
  r.keys = lookupKeys(p.deviceId);
  r.content.state = "pending";
  r.content.requestId = p.requestId;
  r.content.server = serverLine(p);
  r.content.protocol = p.protocol;
  r.content.path = p.path;
  r.content.altServers = p.alternateServers;
  r.content.function = p.function;
  r.content.timeSlot = p.timeSlot;
  r.status.requestId = p.requestId;
}

Core::Request& Core::find(const Caller& caller, const std::string& requestId) const {
  auto it = requests_.find({caller.name, requestId});
  if (it == requests_.end()) {
    throw Fault(FaultCode::InvalidArgument, "requestId: no request '" + requestId + "' is known");
  }
  return *it->second;
}

ContactStatus Core::status(const Caller& caller, const std::string& requestId) const {
  return find(caller, requestId).status;
}

ContactStatus Core::cancel(const Caller& caller, const std::string& requestId) {
  Request& r = find(caller, requestId);
  if (r.status.state == RequestState::Queued) {
    finish(r, RequestState::Cancelled);
    publish(r);
  } else if (r.status.state == RequestState::Notifying) {
    r.cancelled = true;  // settles as cancelled unless a 2xx comes
    // A device still being woken will get nothing: its wait ends now.
    for (const auto& [index, wait] : r.wakes) {
      wakeups_->cancel(wait);
      Delivery& d = r.status.deliveries.at(index);
      d.reason += "; cancelled before the device registered";
      d.inFlight = false;
      --r.inFlight;
    }
    r.wakes.clear();
    settleIfDone(r);
  }
  return r.status;
}

std::size_t Core::openCount(const std::string& appServer) const {
  auto it = openByAppServer_.find(appServer);
  return it == openByAppServer_.end() ? 0 : it->second;
}

std::vector<Binding> Core::device(const std::string& deviceId) const {
  std::vector<Binding> out;
  for (const Binding* b : bindings_.find(lookupKeys(deviceId))) {
    out.push_back(*b);
    // A connection that closed since is known before a NOTIFY fails on it.
    if (b->flow && b->flow->closed()) out.back().unreachable = true;
    out.back().flow.reset();
    out.back().dialog.reset();
  }
  return out;
}

void Core::attempt(Request& r) {
  const std::vector<const Binding*> to = targets(r);
  if (to.empty()) return;
  const TimePoint now = clock_.now();
  setState(r, RequestState::Notifying);
  r.status.settled = false;
  ++r.rounds;
  r.sending = true;
  spdlog::info("contact-me request={} app={} device={} state=notifying round={} bindings={}",
               quoted(r.key.second), quoted(r.key.first), quoted(r.params.deviceId), r.rounds,
               to.size());
  for (const Binding* b : to) {
    if (wakeups_ && wakeups_->needsWake(*b)) {
      wakeBinding(r, *b, now);
    } else {
      notifyBinding(r, *b, now);
    }
  }
  r.sending = false;
  settleIfDone(r);
}

void Core::notifyBinding(Request& r, const Binding& b, TimePoint now) {
  const PackageSubscription& sub = *b.subscription(r.package);
  const auto left = std::max<long long>(
      0, std::chrono::duration_cast<std::chrono::seconds>(b.expires - now).count());
  OutgoingNotify n{r.package, "active;expires=" + std::to_string(left),
                   contentType(r.package, sub.format), encode(r.content, sub.format),
                   r.params.requestId};
  const std::size_t index = r.status.deliveries.size();
  r.status.deliveries.push_back(
      Delivery{b.id, b.contact, b.transport, 0, "waiting for answer", now, true});
  ++r.inFlight;
  sender_.send(b, n,
               [this, key = r.key, index](const NotifyOutcome& o) { onOutcome(key, index, o); });
}

// RFC 8599 4.2.2: a device without a live flow is pushed, and its NOTIFY
// goes out when it registers again (onWake). The delivery says how far the
// push got.
void Core::wakeBinding(Request& r, const Binding& b, TimePoint now) {
  const std::size_t index = r.status.deliveries.size();
  r.status.deliveries.push_back(
      Delivery{b.id, b.contact, b.transport, 0,
               "push through " + b.push.provider + ": waiting for the gateway", now, true});
  ++r.inFlight;
  PushRequest request;
  request.reason = PushReason::ContactMe;
  request.requestId = r.params.requestId;
  request.appServer = r.key.first;
  const std::uint64_t wait =
      wakeups_->wake(b, std::move(request),
                     [this, key = r.key, index](const WakeOutcome& o) { onWake(key, index, o); });
  // The gateway may have refused it already (onWake ran).
  if (r.status.deliveries[index].inFlight) r.wakes.emplace_back(index, wait);
}

void Core::onWake(const RequestKey& key, std::size_t index, const WakeOutcome& o) {
  auto it = requests_.find(key);
  if (it == requests_.end()) return;
  Request& r = *it->second;
  const TimePoint now = clock_.now();
  Delivery& d = r.status.deliveries.at(index);
  if (!d.inFlight) return;  // its wait was ended (a cancel, a restart)
  const std::string via = "push through " + o.provider;
  d.at = now;
  using Stage = WakeOutcome::Stage;
  if (o.stage == Stage::Pushed) {
    d.reason = via + " sent (" + o.detail + "): waiting for the device to register";
    publish(r);
    return;
  }
  d.inFlight = false;
  --r.inFlight;
  std::erase_if(r.wakes, [&](const auto& w) { return w.first == index; });
  const std::string waited = std::to_string(o.waited.count()) + " ms";
  d.reason = o.stage == Stage::Failed ? via + " failed: " + o.detail
             : o.stage == Stage::TimedOut
                 ? via + " sent: the device did not register within " + waited
                 : via + ": the device registered again after " + waited;
  spdlog::info("contact-me request={} app={} device={} binding={} push={}", quoted(key.second),
               quoted(key.first), quoted(r.params.deviceId), d.bindingId, quoted(d.reason));
  if (o.stage == Stage::Registered) {
    // Its NOTIFY now, over the flow it registered on (a delivery of its own).
    const Binding* b = bindings_.get(o.bindingId);
    if (b && b->subscription(r.package) && !r.cancelled && !isFinal(r.status.state)) {
      const bool sending = std::exchange(r.sending, true);
      notifyBinding(r, *b, now);
      r.sending = sending;
    }
  }
  settleIfDone(r);
}

void Core::onOutcome(const RequestKey& key, std::size_t index, const NotifyOutcome& outcome) {
  auto it = requests_.find(key);
  if (it == requests_.end()) return;
  Request& r = *it->second;
  Delivery& d = r.status.deliveries.at(index);
  const std::uint64_t bindingId = d.bindingId;
  const std::chrono::duration<double, std::milli> took = clock_.now() - d.at;
  d.sipStatus = outcome.status;
  d.reason = outcome.reason;
  d.at = clock_.now();
  d.inFlight = false;
  --r.inFlight;
  spdlog::info(
      "notify request={} app={} device={} binding={} contact={} via={} status={} reason={} "
      "duration_ms={:.1f}",
      quoted(key.second), quoted(key.first), quoted(r.params.deviceId), d.bindingId,
      quoted(d.contact), toString(d.transport), outcome.status, quoted(outcome.reason),
      took.count());
  if (outcome.flowClosed) {
    spdlog::info("binding unreachable binding={} device={} contact={}: its flow is closed",
                 d.bindingId, quoted(r.params.deviceId), quoted(d.contact));
    bindings_.markUnreachable(d.bindingId);
    saveBinding(d.bindingId);
  }
  if (outcome.status >= 200 && outcome.status < 300) {
    if (!isFinal(r.status.state)) finish(r, RequestState::Delivered);
  } else if (outcome.status >= 400 && outcome.status < 500 && outcome.status != 408 &&
             outcome.status != 481) {
    // The device refused this request (a 4xx, or a challenge we could not
    // answer): retrying it there would only be refused again.
    r.refusedBy.insert(d.bindingId);
  } else if (outcome.status == 481) {
    // The device no longer has the subscription: stop notifying that binding
    // (an explicit subscription is gone altogether).
    const Binding* b = bindings_.get(d.bindingId);
    if (b && b->explicitSubscription()) {
      spdlog::info("subscription ended aor={} contact={} instance={} source={} reason=481",
                   quoted(b->aor), quoted(b->contact), quoted(b->instance), b->sourceHostPort());
      if (metrics_) metrics_->subscriptionChanged(Metrics::SubscriptionChange::Ended);
      removeBinding(d.bindingId);
    } else {
      if (b) {
        spdlog::info(
            "registration unsubscribed aor={} contact={} instance={} package={} "
            "reason=481",
            quoted(b->aor), quoted(b->contact), quoted(b->instance), r.package);
      }
      bindings_.unsubscribe(d.bindingId, r.package);
      saveBinding(d.bindingId);
    }
  }
  // RFC 8599: a device found without a flow as its NOTIFY left is pushed in
  // the same round (what a dead connection would else only learn on the retry).
  const Binding* closed = outcome.flowClosed ? bindings_.get(bindingId) : nullptr;
  if (closed && wakeups_ && wakeups_->needsWake(*closed) && !r.cancelled &&
      !isFinal(r.status.state)) {
    const bool sending = std::exchange(r.sending, true);  // perhaps inside attempt()
    wakeBinding(r, *closed, clock_.now());
    r.sending = sending;
  }
  settleIfDone(r);
}

void Core::settleIfDone(Request& r) {
  if (r.sending) return;
  if (r.inFlight == 0 && r.status.state == RequestState::Notifying) {
    // Every binding of this round failed: wait for the next one while the
    // request may still be queued, else it has failed.
    if (r.cancelled) {
      finish(r, RequestState::Cancelled);
    } else if (clock_.now() < r.queueUntil) {
      setState(r, RequestState::Queued);
      const auto backoff = std::min<std::chrono::milliseconds>(
          config_.retryMax, config_.retryFirst * (1LL << std::min(r.rounds - 1, 16u)));
      r.nextAttempt = clock_.now() + backoff;
      schedule(r);
      spdlog::info("contact-me request={} app={} device={} state=queued retry_in_ms={}",
                   quoted(r.key.second), quoted(r.key.first), quoted(r.params.deviceId),
                   backoff.count());
    } else {
      finish(r, RequestState::Failed);
    }
  }
  publish(r);
}

void Core::finish(Request& r, RequestState s) {
  setState(r, s);
  r.endedAt = clock_.now();
  ended_.emplace_back(r.endedAt, r.key);
  const std::chrono::duration<double, std::milli> age = r.endedAt - r.createdAt;
  if (metrics_ && s == RequestState::Delivered) metrics_->requestDelivered(age);
  spdlog::info("contact-me request={} app={} device={} state={} duration_ms={:.1f}",
               quoted(r.key.second), quoted(r.key.first), quoted(r.params.deviceId), toString(s),
               age.count());
}

void Core::publish(Request& r) {
  r.status.settled = isFinal(r.status.state) && r.inFlight == 0;
  save(r);
  for (const auto& l : r.listeners)
    l(r.status);
  if (r.status.settled) r.listeners.clear();
}

void Core::tick() {
  const TimePoint now = clock_.now();
  if (wakeups_) wakeups_->tick(bindings_);
  for (const Binding& b : bindings_.expire(now)) {
    if (store_) store_->removeBinding(b.id);
    if (b.explicitSubscription()) {
      spdlog::info("subscription expired aor={} contact={} instance={} source={}", quoted(b.aor),
                   quoted(b.contact), quoted(b.instance), b.sourceHostPort());
      if (metrics_) metrics_->subscriptionChanged(Metrics::SubscriptionChange::Expired);
      sendState(b, "terminated;reason=timeout");
      continue;
    }
    spdlog::info("registration expired binding={} aor={} contact={} instance={} source={} via={}",
                 b.id, quoted(b.aor), quoted(b.contact), quoted(b.instance), b.sourceHostPort(),
                 toString(b.transport));
    if (metrics_) metrics_->bindingChanged(Metrics::BindingChange::Expired);
  }
  if (metrics_) {
    const BindingTable::Counts& n = bindings_.counts();
    metrics_->bindingCounts(n.registrations, n.implicitSubscriptions, n.explicitSubscriptions);
  }
  // Queued requests that are due: expiry and retries. Only the entries that
  // are due now (attempt() may schedule more); those that no longer match
  // their request are left over from an earlier schedule.
  std::vector<std::pair<TimePoint, RequestKey>> due;
  while (!due_.empty() && due_.begin()->first <= now) {
    due.push_back(*due_.begin());
    due_.erase(due_.begin());
  }
  for (const auto& [at, key] : due) {
    auto it = requests_.find(key);
    if (it == requests_.end()) continue;
    Request& r = *it->second;
    if (r.status.state != RequestState::Queued || r.inFlight != 0 || dueOf(r) != at) continue;
    if (now >= r.queueUntil) {
      // Never sent: it expired in the queue; sent and never answered 2xx: failed.
      finish(r, r.rounds == 0 ? RequestState::Expired : RequestState::Failed);
      publish(r);
      continue;
    }
    attempt(r);
    if (r.status.state == RequestState::Queued && r.inFlight == 0 && dueOf(r) <= now) {
      // Nothing to send to: it waits for a binding (reachWaiting), or its end.
      r.nextAttempt = r.queueUntil;
      schedule(r);
    }
  }
  // Ended requests are kept keepEnded for GetContactRequest, then dropped.
  while (!ended_.empty() && now - ended_.front().first >= config_.keepEnded) {
    auto it = requests_.find(ended_.front().second);
    ended_.pop_front();
    if (it != requests_.end() && it->second->inFlight == 0) {
      if (metrics_) metrics_->requestDropped(it->second->status.state);
      if (store_ && it->second->storeId) store_->removeRequest(it->second->storeId);
      requests_.erase(it);
    }
  }
}

void Core::restore(StoredState state, const std::function<void(Binding&)>& attach) {
  const TimePoint now = clock_.now();
  std::size_t bindings = 0, expired = 0;
  for (Binding& b : state.bindings) {
    if (b.expires <= now) {
      if (store_) store_->removeBinding(b.id);
      ++expired;
      continue;
    }
    if (attach) attach(b);
    const std::uint64_t id = b.id;
    bindings_.restore(std::move(b));
    if (wakeups_) wakeups_->scheduleRefresh(*bindings_.get(id));
    ++bindings;
  }

  std::vector<RequestKey> interrupted;
  std::size_t queued = 0, ended = 0;
  for (RequestRecord& rec : state.requests) {
    RequestKey key{rec.appServer, rec.params.requestId};
    RequestProgress& p = rec.progress;
    nextStoreId_ = std::max(nextStoreId_, rec.id + 1);
    // The store keys requests by number: a second row for the same request
    // (not written by beckond) would never be dropped otherwise.
    if ((isFinal(p.state) && now - p.endedAt >= config_.keepEnded) || requests_.count(key)) {
      if (store_) store_->removeRequest(rec.id);
      continue;
    }
    auto r = std::make_unique<Request>();
    r->key = key;
    r->storeId = rec.id;
    r->params = std::move(rec.params);
    prepare(*r);
    r->status.deliveries = std::move(p.deliveries);
    for (Delivery& d : r->status.deliveries) {
      if (!d.inFlight) continue;
      d.inFlight = false;
      d.reason = "no answer before beckond stopped";
    }
    r->createdAt = rec.createdAt;
    r->queueUntil = rec.queueUntil;
    r->nextAttempt = p.nextAttempt;
    r->endedAt = p.endedAt;
    r->rounds = p.rounds;
    r->cancelled = p.cancelled;
    r->refusedBy.insert(p.refusedBy.begin(), p.refusedBy.end());
    Request& req = *r;
    requests_.emplace(key, std::move(r));
    if (metrics_) metrics_->requestRestored(isFinal(p.state) ? p.state : RequestState::Queued);
    if (isFinal(p.state)) {
      req.status.state = p.state;
      req.status.settled = true;
      ended_.emplace_back(req.endedAt, key);
      ++ended;
      continue;
    }
    setState(req, RequestState::Queued);
    ++queued;
    if (p.state == RequestState::Notifying) interrupted.push_back(key);
  }
  std::sort(ended_.begin(), ended_.end());

  // What was in flight goes out again, even past its queue time: it was
  // acknowledged, and its outcome was never known.
  for (const RequestKey& key : interrupted) {
    Request& r = *requests_.at(key);
    if (r.cancelled) {
      finish(r, RequestState::Cancelled);
      publish(r);
    } else if (!targets(r).empty()) {
      attempt(r);
    } else if (now >= r.queueUntil) {
      finish(r, RequestState::Failed);
      publish(r);
    }
  }
  spdlog::info(
      "restored {} bindings ({} expired while beckond was down), {} queued requests ({} sent "
      "again), {} ended requests",
      bindings, expired, queued, interrupted.size(), ended);
}

}  // namespace beckon
