// Metrics for GET /metrics, in the Prometheus text exposition format 0.0.4.
//
// Two layers:
// - MetricRegistry: counters, gauges, histograms and SIP status counters,
//   each family with HELP and TYPE. Registering takes a lock (do it at start);
//   updating a registered metric is one relaxed atomic operation, from any
//   thread, never a lock. render() may run at any time on any thread.
// - Metrics: beckond's own set (names prefixed beckon_), with one method per
//   event the SIP thread, the SOAP workers or the store report. The list of
//   metrics and what each means is in docs/monitoring.md.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "contact_request.h"
#include "fault.h"

namespace beckon {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void set(std::int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t d) { value_.fetch_add(d, std::memory_order_relaxed); }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// Cumulative buckets are made at render time: observe() increments one
// bucket, the count and the sum.
class Histogram {
 public:
  // Upper bounds, ascending, finite; +Inf is implied. Throws std::invalid_argument.
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  template <class Rep, class Period>
  void observe(std::chrono::duration<Rep, Period> d) {
    observe(std::chrono::duration<double>(d).count());
  }

  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

// Counts by SIP status code (100-699; anything else as status="other"),
// rendered with a `status` label for the codes seen.
class StatusCounter {
 public:
  void inc(int status);
  std::uint64_t value(int status) const;

 private:
  static constexpr int kFirst = 100, kLast = 699;
  std::array<std::atomic<std::uint64_t>, kLast - kFirst + 2> counts_{};  // + "other"
};

class MetricRegistry {
 public:
  MetricRegistry();
  ~MetricRegistry();
  MetricRegistry(const MetricRegistry&) = delete;
  MetricRegistry& operator=(const MetricRegistry&) = delete;

  // Each call adds one labelled child to the family `name` (made by the first
  // call; later calls must agree on its type and help). Names and label names
  // follow Prometheus' rules. Throws std::invalid_argument (bad name, type
  // clash, the same labels twice). The references stay valid as long as the
  // registry.
  Counter& counter(const std::string& name, const std::string& help, MetricLabels labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, MetricLabels labels = {});
  Histogram& histogram(const std::string& name, const std::string& help, std::vector<double> bounds,
                       MetricLabels labels = {});
  // A counter family child with a further `status` label per SIP status seen.
  StatusCounter& statusCounter(const std::string& name, const std::string& help,
                               MetricLabels labels = {});
  // A value that lives elsewhere (behind its own lock), read at render time.
  // `read` runs on the scraping thread and must be thread-safe.
  void sampledGauge(const std::string& name, const std::string& help, MetricLabels labels,
                    std::function<double()> read);
  void sampledCounter(const std::string& name, const std::string& help, MetricLabels labels,
                      std::function<double()> read);

  // The text exposition format 0.0.4, families in registration order.
  std::string render() const;

  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  struct Family;
  struct Child;
  Child& add(const std::string& name, const std::string& help, int type, MetricLabels labels);

  mutable std::mutex mutex_;  // registration against render; never taken by updates
  std::vector<std::unique_ptr<Family>> families_;
};

// beckond's metrics. Every method is cheap (atomics only) and thread-safe.
class Metrics {
 public:
  enum class BindingChange { Added, Refreshed, Removed, Expired };
  enum class SubscriptionChange { Added, Refreshed, Ended, Expired };
  enum class SoapOperation { ContactMe, GetContactRequest, CancelContactRequest, GetDevice };
  enum class SoapResult { Ok, Fault, Error };  // Error: an internal error, not a contract fault
  // What a refusal by [limits] (or app_server.rate, soap.max_body_bytes)
  // was for; the label is the configuration key (docs/monitoring.md).
  enum class Limit {
    SipMaxHeaders,
    SipMaxContacts,
    BindingsPerAor,
    SubscriptionsPerDevice,
    AorRate,
    SipConnections,
    SipConnectionsPerSource,
    SipFirstMessage,
    SoapConnections,
    SoapConnectionsPerSource,
    SoapRequestTimeout,
    SoapHeaderTimeout,
    SoapMaxBodyBytes,
    SoapHeaderBytes,
    QueuedRequests,
    QueuedRequestsPerAppServer,
    AppServerRate,
    B2buaMaxCalls,
  };
  static constexpr std::size_t kLimits = static_cast<std::size_t>(Limit::B2buaMaxCalls) + 1;

  explicit Metrics(std::string version = "");
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  MetricRegistry& registry() { return registry_; }
  std::string render() const { return registry_.render(); }

  // Registrar and event server (SIP thread).
  void registerAnswered(int status) { registerResponses_->inc(status); }
  void bindingChanged(BindingChange c) { bindingChanges_[static_cast<int>(c)]->inc(); }
  void subscriptionChanged(SubscriptionChange c) {
    subscriptionChanges_[static_cast<int>(c)]->inc();
  }
  // The current table, published by the core's timer (every 100 ms).
  void bindingCounts(std::size_t registrations, std::size_t implicitSubscriptions,
                     std::size_t explicitSubscriptions);

  // Contact requests (core): a new request (it starts queued), a state
  // change, a request dropped after keep_ended_seconds, and the time from
  // its acceptance to its first 2xx.
  void requestCreated();
  void requestMoved(RequestState from, RequestState to);
  void requestDropped(RequestState state) { requestsNow_[index(state)]->add(-1); }
  // A request put back from the store at start, in this state (queued for
  // one that was queued or notifying): counted as there, not as created.
  void requestRestored(RequestState state) { requestsNow_[index(state)]->add(1); }
  template <class Rep, class Period>
  void requestDelivered(std::chrono::duration<Rep, Period> sinceAccepted) {
    deliveryLatency_->observe(sinceAccepted);
  }

  // NOTIFYs (sender): the final outcome of one NOTIFY transaction (408 for
  // a timeout, 503 for a transport error) and its round trip; `forRequest`
  // false for the state NOTIFYs of subscriptions (idle, terminated).
  template <class Rep, class Period>
  void notifyAnswered(bool forRequest, int status, std::chrono::duration<Rep, Period> roundTrip) {
    notifyResponses_[forRequest ? 0 : 1]->inc(status);
    notifyDuration_[forRequest ? 0 : 1]->observe(roundTrip);
  }
  void notifiesInFlight(std::size_t n) { notifiesInFlight_->set(static_cast<std::int64_t>(n)); }

  // SOAP workers: one call, its result and how long it took to answer.
  template <class Rep, class Period>
  void soapAnswered(SoapOperation op, SoapResult result, FaultCode fault,
                    std::chrono::duration<Rep, Period> took) {
    soapCall(op, result, fault);
    soapDuration_[static_cast<int>(op)]->observe(took);
  }

  // The store (store/ calls these from its writer thread):
  // - storeCommit: one committed transaction (a group of writes), how long
  //   BEGIN..COMMIT took and how many writes it held;
  // - storeQueueDepth: writes waiting for the writer thread, after each change;
  // - storeFailed: a commit that failed (its writes were not made durable).
  template <class Rep, class Period>
  void storeCommit(std::chrono::duration<Rep, Period> took, std::size_t writes = 1) {
    storeCommit_->observe(took);
    storeWrites_->inc(writes);
  }
  void storeQueueDepth(std::size_t n) { storeQueue_->set(static_cast<std::int64_t>(n)); }
  void storeFailed() { storeErrors_->inc(); }

  // SIGHUP: a configuration re-read and applied, or refused.
  void configReloaded(bool ok) { (ok ? reloadsOk_ : reloadsFailed_)->inc(); }

  // The B2BUA (SIP thread): a call set up (both legs answered) and ended;
  // a callee leg rebuilt after its flow was lost (how long the new leg
  // took to answer), or a rebuild that gave up; a call refused by
  // b2bua.max_calls is a limitRefused(B2buaMaxCalls).
  void b2buaCallUp() { b2buaCalls_->add(1); }
  void b2buaCallDown() { b2buaCalls_->add(-1); }
  template <class Rep, class Period>
  void b2buaLegRebuilt(std::chrono::duration<Rep, Period> took) {
    b2buaRebuilt_->inc();
    b2buaRebuildTime_->observe(took);
  }
  void b2buaRebuildFailed() { b2buaRebuildFailed_->inc(); }

  // A request or connection refused (or cut off) because of a limit (any thread).
  void limitRefused(Limit l) { limitRefusals_[static_cast<std::size_t>(l)]->inc(); }

  // Digest authentication (SIP thread): credentials that failed (wrong,
  // unknown user, not our nonce), and attempts refused unchecked because
  // their source or user is blocked ([sip.auth] *_failure_limit).
  void digestFailed() { digestFailures_->inc(); }
  void digestBlocked(bool bySource) { digestBlocked_[bySource ? 0 : 1]->inc(); }

 private:
  static int index(RequestState s) { return static_cast<int>(s); }
  void soapCall(SoapOperation op, SoapResult result, FaultCode fault);

  MetricRegistry registry_;
  // Registered in the constructor, in the order they are rendered.
  StatusCounter* registerResponses_ = nullptr;
  std::array<Counter*, 4> bindingChanges_{};
  Gauge* bindings_ = nullptr;
  std::array<Counter*, 4> subscriptionChanges_{};
  Gauge* implicitSubscriptions_ = nullptr;
  Gauge* explicitSubscriptions_ = nullptr;
  Counter* requestsCreated_ = nullptr;
  std::array<Counter*, 6> transitions_{};
  std::array<Gauge*, 6> requestsNow_{};
  Histogram* deliveryLatency_ = nullptr;
  std::array<StatusCounter*, 2> notifyResponses_{};
  std::array<Histogram*, 2> notifyDuration_{};
  Gauge* notifiesInFlight_ = nullptr;
  // [operation][ok, error, one per FaultCode]
  std::array<std::array<Counter*, 8>, 4> soapCalls_{};
  std::array<Histogram*, 4> soapDuration_{};
  Histogram* storeCommit_ = nullptr;
  Counter* storeWrites_ = nullptr;
  Gauge* storeQueue_ = nullptr;
  Counter* storeErrors_ = nullptr;
  Counter* reloadsOk_ = nullptr;
  Counter* reloadsFailed_ = nullptr;
  std::array<Counter*, kLimits> limitRefusals_{};
  Counter* digestFailures_ = nullptr;
  std::array<Counter*, 2> digestBlocked_{};  // source, user
  Gauge* b2buaCalls_ = nullptr;
  Counter* b2buaRebuilt_ = nullptr;
  Counter* b2buaRebuildFailed_ = nullptr;
  Histogram* b2buaRebuildTime_ = nullptr;
};

// The configuration key a limit is set by ("limits.aor_rate", "app_server.rate", ...).
const char* toString(Metrics::Limit l);

const char* toString(Metrics::SoapOperation op);

}  // namespace beckon
