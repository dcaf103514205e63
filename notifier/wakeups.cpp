#include "wakeups.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "binding_table.h"
#include "logfmt.h"
#include "metrics.h"

namespace beckon {

const char* toString(PushReason r) {
  switch (r) {
    case PushReason::ContactMe:
      return "contact-me";
    case PushReason::Call:
      return "call";
    case PushReason::Refresh:
      return "refresh";
  }
  return "?";
}

struct Wakeups::Waiter {
  std::uint64_t id = 0;
  std::string device;
  std::string provider;
  TimePoint since;
  TimePoint deadline;
  Listener done;
};

// A device being woken: its push (out, or taken by the gateway) and who waits.
struct Wakeups::Device {
  std::uint64_t generation = 0;  // a push answer for an earlier entry is not this one's
  std::string provider;
  bool pushed = false;  // the gateway took it
  std::string pushedDetail;
  std::vector<std::uint64_t> waiters;
};

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::string randomPrefix() {
  std::random_device random;
  char buf[20];
  std::snprintf(buf, sizeof buf, "%08x%08x", random(), random());
  return buf;
}

}  // namespace

Wakeups::Wakeups(const Clock& clock, PushSender& sender, PushConfig config)
    : clock_(clock), sender_(sender), config_(std::move(config)), idPrefix_(randomPrefix()) {}

Wakeups::~Wakeups() = default;

bool Wakeups::needsWake(const Binding& b) const {
  if (b.push.empty() || b.explicitSubscription() || !config_.providers.count(b.push.provider))
    return false;
  const bool live = b.transport != Transport::Udp && !b.unreachable && b.flow && !b.flow->closed();
  return !live;
}

// RFC 8599 devices name themselves with +sip.instance (RFC 5626); without
// one, the push resource id is the device (its Contact may change as it
// moves, its PRID does not).
std::string Wakeups::deviceKey(const Binding& b) const {
  return b.aor + '\n' + (b.instance.empty() ? b.push.provider + ':' + b.push.prid : b.instance);
}

milliseconds Wakeups::waitFor(const std::string& provider) const {
  auto it = config_.providers.find(provider);
  return it == config_.providers.end() ? milliseconds(0) : it->second;
}

void Wakeups::fill(PushRequest& request, const Binding& b) {
  request.id = idPrefix_ + "-" + std::to_string(nextPush_++);
  request.target = b.push;
  request.aor = b.aor;
  request.instance = b.instance;
  request.bindingId = b.id;
}

std::uint64_t Wakeups::wake(const Binding& b, PushRequest request, Listener done,
                            std::optional<milliseconds> atMost) {
  const TimePoint now = clock_.now();
  const std::string key = deviceKey(b);
  milliseconds wait = waitFor(b.push.provider);
  if (atMost) wait = std::min(wait, *atMost);
  const std::uint64_t id = nextWait_++;
  waiters_.emplace(id, Waiter{id, key, b.push.provider, now, now + wait, std::move(done)});
  deadlines_.emplace(now + wait, id);
  publish();

  auto [it, fresh] = devices_.try_emplace(key);
  Device& device = it->second;
  device.waiters.push_back(id);
  if (!fresh) {
    spdlog::debug("push wait binding={} provider={} reason={}: a push is out already", b.id,
                  b.push.provider, toString(request.reason));
    if (device.pushed) {
      // Told at once that the push is out (as the first waiter was).
      const Listener listener = waiters_.at(id).done;
      listener({WakeOutcome::Stage::Pushed, device.provider, 0, device.pushedDetail, {}});
    }
    return id;
  }
  device.generation = nextGeneration_++;
  device.provider = b.push.provider;
  fill(request, b);
  spdlog::info(
      "push wake push={} binding={} aor={} instance={} provider={} reason={} request={} "
      "call={} wait_ms={}",
      request.id, b.id, quoted(b.aor), quoted(b.instance), b.push.provider,
      toString(request.reason), quoted(request.requestId), quoted(request.callId), wait.count());
  sender_.push(request, [this, key, generation = device.generation](const PushResult& r) {
    onPushed(key, generation, r);
  });
  return id;
}

void Wakeups::onPushed(const std::string& key, std::uint64_t generation, const PushResult& r) {
  auto it = devices_.find(key);
  if (it == devices_.end() || it->second.generation != generation) return;  // all gave up
  Device& device = it->second;
  if (r.sent) {
    device.pushed = true;
    device.pushedDetail = "HTTP " + std::to_string(r.httpStatus);
    std::vector<Listener> listeners;
    for (std::uint64_t w : device.waiters) {
      if (auto found = waiters_.find(w); found != waiters_.end())
        listeners.push_back(found->second.done);
    }
    const WakeOutcome pushed{
        WakeOutcome::Stage::Pushed, device.provider, 0, device.pushedDetail, {}};
    for (const Listener& l : listeners)
      l(pushed);
    return;
  }
  std::vector<Waiter> ended;
  for (std::uint64_t w : device.waiters) {
    if (auto found = waiters_.find(w); found != waiters_.end()) {
      ended.push_back(std::move(found->second));
      waiters_.erase(found);
    }
  }
  const std::string provider = device.provider;
  devices_.erase(it);
  if (failed_) failed_->inc(ended.size());
  end(std::move(ended), {WakeOutcome::Stage::Failed, provider, 0, r.problem, {}});
}

void Wakeups::cancel(std::uint64_t id) {
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return;
  const std::string key = it->second.device;
  waiters_.erase(it);
  if (cancelled_) cancelled_->inc();
  if (auto d = devices_.find(key); d != devices_.end()) {
    std::erase(d->second.waiters, id);
    // Nobody waits any more: a later request pushes again.
    if (d->second.waiters.empty()) devices_.erase(d);
  }
  publish();
}

void Wakeups::registered(const Binding& b) {
  if (b.push.empty()) return;
  auto it = devices_.find(deviceKey(b));
  if (it == devices_.end()) return;
  const TimePoint now = clock_.now();
  std::vector<Waiter> ended;
  for (std::uint64_t w : it->second.waiters) {
    if (auto found = waiters_.find(w); found != waiters_.end()) {
      ended.push_back(std::move(found->second));
      waiters_.erase(found);
    }
  }
  const std::string provider = it->second.provider;
  devices_.erase(it);
  if (ended.empty()) return;
  const milliseconds waited = duration_cast<milliseconds>(now - ended.front().since);
  spdlog::info("push woke binding={} aor={} instance={} provider={} waits={} after_ms={}", b.id,
               quoted(b.aor), quoted(b.instance), provider, ended.size(), waited.count());
  if (registered_) registered_->inc(ended.size());
  if (wakeTime_) wakeTime_->observe(now - ended.front().since);
  end(std::move(ended), {WakeOutcome::Stage::Registered, provider, b.id, "", waited});
}

void Wakeups::end(std::vector<Waiter> ended, WakeOutcome outcome) {
  publish();
  const TimePoint now = clock_.now();
  for (Waiter& w : ended) {
    outcome.waited = duration_cast<milliseconds>(now - w.since);
    outcome.provider = w.provider;
    w.done(outcome);
  }
}

void Wakeups::scheduleRefresh(const Binding& b) {
  if (config_.refreshBefore.count() == 0 || b.push.empty() || b.explicitSubscription() ||
      !config_.providers.count(b.push.provider)) {
    return;
  }
  // Half its remaining lifetime at most: a binding registered for less than
  // twice refreshBefore is not pushed the moment it is stored.
  const auto left = b.expires - clock_.now();
  const auto lead = std::min<TimePoint::duration>(config_.refreshBefore, left / 2);
  if (auto old = refreshOf_.find(b.id); old != refreshOf_.end()) refreshes_.erase(old->second);
  refreshOf_[b.id] = refreshes_.emplace(b.expires - lead, std::pair(b.id, b.expires));
}

void Wakeups::tick(const BindingTable& bindings) {
  const TimePoint now = clock_.now();
  std::vector<Waiter> timedOut;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const std::uint64_t id = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    auto it = waiters_.find(id);
    if (it == waiters_.end()) continue;
    if (auto d = devices_.find(it->second.device); d != devices_.end()) {
      std::erase(d->second.waiters, id);
      if (d->second.waiters.empty()) devices_.erase(d);
    }
    timedOut.push_back(std::move(it->second));
    waiters_.erase(it);
  }
  if (!timedOut.empty()) {
    if (timedOut_) timedOut_->inc(timedOut.size());
    for (const Waiter& w : timedOut) {
      const auto waited = duration_cast<milliseconds>(now - w.since);
      spdlog::info("push wait ended device={} after_ms={}: the device did not register",
                   quoted(w.device.substr(w.device.find('\n') + 1)), waited.count());
    }
    end(std::move(timedOut), {WakeOutcome::Stage::TimedOut, "", 0, "", {}});
  }

  std::vector<std::pair<std::uint64_t, TimePoint>> due;
  while (!refreshes_.empty() && refreshes_.begin()->first <= now) {
    due.push_back(refreshes_.begin()->second);
    refreshOf_.erase(refreshes_.begin()->second.first);
    refreshes_.erase(refreshes_.begin());
  }
  for (const auto& [id, expires] : due) {
    const Binding* b = bindings.get(id);
    // Gone (its id reused: another expiry), or awake: no push.
    if (!b || b->expires != expires || !needsWake(*b)) continue;
    PushRequest request;
    request.reason = PushReason::Refresh;
    fill(request, *b);
    spdlog::info("push refresh push={} binding={} aor={} instance={} provider={} expires_in_s={}",
                 request.id, b->id, quoted(b->aor), quoted(b->instance), b->push.provider,
                 std::chrono::duration_cast<std::chrono::seconds>(b->expires - now).count());
    if (refreshPushes_) refreshPushes_->inc();
    sender_.push(request, [](const PushResult&) {});  // the gateway adapter logs the outcome
  }
}

void Wakeups::publish() {
  if (waits_) waits_->set(static_cast<std::int64_t>(waiters_.size()));
}

void Wakeups::setMetrics(MetricRegistry& registry) {
  const char* help =
      "Waits for a device woken by a push (RFC 8599) to register again, by how they ended: "
      "registered, push_failed (the gateway did not take it), timed_out, cancelled (the call "
      "or request no longer waited).";
  registered_ = &registry.counter("beckon_push_wakeups_total", help, {{"result", "registered"}});
  failed_ = &registry.counter("beckon_push_wakeups_total", help, {{"result", "push_failed"}});
  timedOut_ = &registry.counter("beckon_push_wakeups_total", help, {{"result", "timed_out"}});
  cancelled_ = &registry.counter("beckon_push_wakeups_total", help, {{"result", "cancelled"}});
  refreshPushes_ = &registry.counter(
      "beckon_push_refreshes_total",
      "Pushes sent to make a device without a live flow refresh its binding before it expires.");
  waits_ = &registry.gauge("beckon_push_waits",
                           "Requests and calls waiting now for a pushed device to register.");
  wakeTime_ = &registry.histogram(
      "beckon_push_wake_seconds",
      "From the push to the device's REGISTER, for the devices that registered in time.",
      {0.5, 1, 2, 5, 10, 20, 30, 60});
}

}  // namespace beckon
