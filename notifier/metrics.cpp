#include "metrics.h"

#include "boundary.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace beckon {

namespace {

enum Type { kCounter, kGauge, kHistogram };

const char* typeName(int type) {
  return type == kCounter ? "counter" : type == kGauge ? "gauge" : "histogram";
}

bool validName(const std::string& name, bool colons) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colons && c == ':');
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// A sample value: integers as integers, others in the shortest form that
// reads back the same; NaN and the infinities as Prometheus writes them.
void appendNumber(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    // Plain decimals between 1e-4 and 1e15 ("0.0001", not "1e-04"), as
    // Prometheus' own clients write bucket bounds.
    char buf[64];
    const double a = std::fabs(v);
    const auto r = a == 0 || (a >= 1e-4 && a < 1e15)
                       ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
                       : std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
  }
}

void appendNumber(std::string& out, std::uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void appendNumber(std::string& out, std::int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void appendEscaped(std::string& out, const std::string& text, bool quotes) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quotes && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// `a="x",b="y"` (no braces).
std::string labelText(const MetricLabels& labels) {
  std::string out;
  for (const auto& [name, value] : labels) {
    if (!validName(name, false) || name.rfind("__", 0) == 0 || name == "le")
      throw std::invalid_argument("metric label name '" + name + "'");
    if (!out.empty()) out += ',';
    out += name;
    out += "=\"";
    appendEscaped(out, value, true);
    out += '"';
  }
  return out;
}

// name{labels,extra} (braces only when there is something in them).
void appendSeries(std::string& out, const std::string& name, const char* suffix,
                  const std::string& labels, const std::string& extra = "") {
  out += name;
  out += suffix;
  if (labels.empty() && extra.empty()) {
    out += ' ';
    return;
  }
  out += '{';
  out += labels;
  if (!labels.empty() && !extra.empty()) out += ',';
  out += extra;
  out += "} ";
}

}  // namespace

// ---------------------------------------------------------------------------
// Histogram, StatusCounter

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1]))
      throw std::invalid_argument("histogram bounds must be finite and ascending");
  }
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::observe(double value) {
  // The first bucket whose upper bound holds the value (le: less or equal).
  const auto at = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  buckets_[at].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.cumulative.reserve(bounds_.size() + 1);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(total);
  }
  s.count = total;  // so that +Inf and _count always agree
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

void StatusCounter::inc(int status) {
  const bool known = status >= kFirst && status <= kLast;
  counts_[known ? status - kFirst : counts_.size() - 1].fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t StatusCounter::value(int status) const {
  const bool known = status >= kFirst && status <= kLast;
  return counts_[known ? status - kFirst : counts_.size() - 1].load(std::memory_order_relaxed);
}

// ---------------------------------------------------------------------------
// MetricRegistry

struct MetricRegistry::Child {
  std::string labels;
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Gauge> gauge;
  std::unique_ptr<Histogram> histogram;
  std::unique_ptr<StatusCounter> status;
  std::function<double()> read;
};

struct MetricRegistry::Family {
  std::string name;
  std::string help;
  int type = kCounter;
  std::vector<std::unique_ptr<Child>> children;
};

MetricRegistry::MetricRegistry() = default;
MetricRegistry::~MetricRegistry() = default;

MetricRegistry::Child& MetricRegistry::add(const std::string& name, const std::string& help,
                                           int type, MetricLabels labels) {
  if (!validName(name, true)) throw std::invalid_argument("metric name '" + name + "'");
  std::string text = labelText(labels);
  std::lock_guard lock(mutex_);
  auto it = std::find_if(families_.begin(), families_.end(),
                         [&](const auto& f) { return f->name == name; });
  if (it == families_.end()) {
    auto f = std::make_unique<Family>();
    f->name = name;
    f->help = help;
    f->type = type;
    families_.push_back(std::move(f));
    it = families_.end() - 1;
  }
  Family& f = **it;
  if (f.type != type || f.help != help) {
    throw std::invalid_argument("metric " + name + " registered as a " + typeName(f.type) +
                                " with other help");
  }
  for (const auto& c : f.children) {
    if (c->labels == text)
      throw std::invalid_argument("metric " + name + "{" + text + "} registered twice");
  }
  f.children.push_back(std::make_unique<Child>());
  f.children.back()->labels = std::move(text);
  return *f.children.back();
}

Counter& MetricRegistry::counter(const std::string& name, const std::string& help,
                                 MetricLabels labels) {
  Child& c = add(name, help, kCounter, std::move(labels));
  c.counter = std::make_unique<Counter>();
  return *c.counter;
}

Gauge& MetricRegistry::gauge(const std::string& name, const std::string& help,
                             MetricLabels labels) {
  Child& c = add(name, help, kGauge, std::move(labels));
  c.gauge = std::make_unique<Gauge>();
  return *c.gauge;
}

Histogram& MetricRegistry::histogram(const std::string& name, const std::string& help,
                                     std::vector<double> bounds, MetricLabels labels) {
  auto h = std::make_unique<Histogram>(std::move(bounds));
  Child& c = add(name, help, kHistogram, std::move(labels));
  c.histogram = std::move(h);
  return *c.histogram;
}

StatusCounter& MetricRegistry::statusCounter(const std::string& name, const std::string& help,
                                             MetricLabels labels) {
  for (const auto& l : labels) {
    if (l.first == "status") throw std::invalid_argument("metric " + name + ": label status");
  }
  Child& c = add(name, help, kCounter, std::move(labels));
  c.status = std::make_unique<StatusCounter>();
  return *c.status;
}

void MetricRegistry::sampledGauge(const std::string& name, const std::string& help,
                                  MetricLabels labels, std::function<double()> read) {
  add(name, help, kGauge, std::move(labels)).read = std::move(read);
}

void MetricRegistry::sampledCounter(const std::string& name, const std::string& help,
                                    MetricLabels labels, std::function<double()> read) {
  add(name, help, kCounter, std::move(labels)).read = std::move(read);
}

std::string MetricRegistry::render() const {
  std::string out;
  out.reserve(16384);
  std::lock_guard lock(mutex_);
  for (const auto& f : families_) {
    out += "# HELP ";
    out += f->name;
    out += ' ';
    appendEscaped(out, f->help, false);
    out += "\n# TYPE ";
    out += f->name;
    out += ' ';
    out += typeName(f->type);
    out += '\n';
    for (const auto& c : f->children) {
      if (c->counter) {
        appendSeries(out, f->name, "", c->labels);
        appendNumber(out, c->counter->value());
        out += '\n';
      } else if (c->gauge) {
        appendSeries(out, f->name, "", c->labels);
        appendNumber(out, c->gauge->value());
        out += '\n';
      } else if (c->read) {
        appendSeries(out, f->name, "", c->labels);
        appendNumber(out, c->read());
        out += '\n';
      } else if (c->status) {
        for (int s = 100; s <= 700; ++s) {
          const std::uint64_t n = c->status->value(s);  // 700: "other"
          if (n == 0) continue;
          appendSeries(out, f->name, "", c->labels,
                       s == 700 ? "status=\"other\"" : "status=\"" + std::to_string(s) + "\"");
          appendNumber(out, n);
          out += '\n';
        }
      } else if (c->histogram) {
        const Histogram::Snapshot s = c->histogram->snapshot();
        const auto& bounds = c->histogram->bounds();
        for (std::size_t i = 0; i <= bounds.size(); ++i) {
          std::string le = "le=\"";
          if (i < bounds.size()) {
            appendNumber(le, bounds[i]);
          } else {
            le += "+Inf";
          }
          le += '"';
          appendSeries(out, f->name, "_bucket", c->labels, le);
          appendNumber(out, s.cumulative[i]);
          out += '\n';
        }
        appendSeries(out, f->name, "_sum", c->labels);
        appendNumber(out, s.sum);
        out += '\n';
        appendSeries(out, f->name, "_count", c->labels);
        appendNumber(out, s.count);
        out += '\n';
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Metrics

namespace {

// Seconds. Round trips on a LAN take a millisecond or less; over mobile
// networks up to seconds; the NOTIFY timeout is at most 64 s.
const std::vector<double> kLatency{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                   0.25,   0.5,   1,      2.5,   5,    10,    30,   60};
// A queued request may wait for its device up to queueSeconds (7 days at most).
const std::vector<double> kDelivery{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,  0.1,
                                    0.25,  0.5,    1,     2.5,  5,     10,    30,
                                    60,    300,    900,   3600, 21600, 86400, 604800};
// A group commit on a local disk: tens of microseconds to tens of milliseconds.
const std::vector<double> kCommit{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                  0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};

constexpr RequestState kStates[] = {RequestState::Queued,    RequestState::Notifying,
                                    RequestState::Delivered, RequestState::Failed,
                                    RequestState::Expired,   RequestState::Cancelled};
constexpr FaultCode kFaults[] = {FaultCode::UnknownDevice,   FaultCode::NotAuthorized,
                                 FaultCode::InvalidArgument, FaultCode::RequestIdConflict,
                                 FaultCode::Overloaded,      FaultCode::Unavailable};
constexpr Metrics::SoapOperation kOperations[] = {
    Metrics::SoapOperation::ContactMe, Metrics::SoapOperation::GetContactRequest,
    Metrics::SoapOperation::CancelContactRequest, Metrics::SoapOperation::GetDevice};

}  // namespace

const char* toString(Metrics::SoapOperation op) {
  switch (op) {
    case Metrics::SoapOperation::ContactMe:
      return "ContactMe";
    case Metrics::SoapOperation::GetContactRequest:
      return "GetContactRequest";
    case Metrics::SoapOperation::CancelContactRequest:
      return "CancelContactRequest";
    case Metrics::SoapOperation::GetDevice:
      return "GetDevice";
  }
  return "?";
}

const char* toString(Metrics::Limit l) {
  using L = Metrics::Limit;
  switch (l) {
    case L::SipMaxHeaders:
      return "limits.sip_max_headers";
    case L::SipMaxContacts:
      return "limits.sip_max_contacts";
    case L::BindingsPerAor:
      return "limits.bindings_per_aor";
    case L::SubscriptionsPerDevice:
      return "limits.subscriptions_per_device";
    case L::AorRate:
      return "limits.aor_rate";
    case L::SipConnections:
      return "limits.sip_connections";
    case L::SipConnectionsPerSource:
      return "limits.sip_connections_per_source";
    case L::SipFirstMessage:
      return "limits.sip_first_message_ms";
    case L::SoapConnections:
      return "limits.soap_connections";
    case L::SoapConnectionsPerSource:
      return "limits.soap_connections_per_source";
    case L::SoapRequestTimeout:
      return "limits.soap_request_timeout_ms";
    case L::SoapHeaderTimeout:
      return "limits.soap_header_timeout_ms";
    case L::SoapMaxBodyBytes:
      return "soap.max_body_bytes";
    case L::SoapHeaderBytes:
      return "soap_header_bytes";
    case L::QueuedRequests:
      return "limits.queued_requests";
    case L::QueuedRequestsPerAppServer:
      return "limits.queued_requests_per_app_server";
    case L::AppServerRate:
      return "app_server.rate";
    case L::B2buaMaxCalls:
      return "b2bua.max_calls";
  }
  return "?";
}

Metrics::Metrics(std::string version) {
  MetricRegistry& r = registry_;
  r.gauge("beckon_build_info", "beckond's version.", {{"version", version}}).set(1);
  r.gauge("beckon_start_time_seconds", "When beckond started, seconds since the Unix epoch.")
      .set(std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count());

  // Registrar and subscriptions.
  registerResponses_ = &r.statusCounter("beckon_register_responses_total",
                                        "REGISTER requests answered, by SIP status.");
  const char* bindingChanges[] = {"added", "refreshed", "removed", "expired"};
  for (int i = 0; i < 4; ++i) {
    bindingChanges_[i] = &r.counter("beckon_binding_changes_total",
                                    "Bindings added, refreshed, removed (REGISTER) or expired.",
                                    {{"change", bindingChanges[i]}});
  }
  bindings_ = &r.gauge("beckon_bindings", "Registered bindings (contacts of addresses of record).");
  const char* subscriptionChanges[] = {"added", "refreshed", "ended", "expired"};
  for (int i = 0; i < 4; ++i) {
    subscriptionChanges_[i] =
        &r.counter("beckon_subscription_changes_total",
                   "Explicit subscriptions (SUBSCRIBE) added, refreshed, ended or expired.",
                   {{"change", subscriptionChanges[i]}});
  }
  const char* subscriptionsHelp =
      "Subscriptions to an event package now: implicit (a binding registered with the "
      "package in Accept, per package) and explicit (SUBSCRIBE dialogs).";
  implicitSubscriptions_ =
      &r.gauge("beckon_subscriptions", subscriptionsHelp, {{"kind", "implicit"}});
  explicitSubscriptions_ =
      &r.gauge("beckon_subscriptions", subscriptionsHelp, {{"kind", "explicit"}});

  // Contact requests.
  requestsCreated_ = &r.counter("beckon_contact_requests_created_total",
                                "Contact requests accepted (repeats of a requestId not counted).");
  for (RequestState s : kStates) {
    transitions_[index(s)] = &r.counter(
        "beckon_contact_request_transitions_total",
        "Contact requests entering each state (queued: new requests and retries; a final state "
        "is entered once per request).",
        {{"state", toString(s)}});
  }
  for (RequestState s : kStates) {
    requestsNow_[index(s)] =
        &r.gauge("beckon_contact_requests",
                 "Contact requests in each state now (final ones while they are kept for "
                 "GetContactRequest, contact_me.keep_ended_seconds).",
                 {{"state", toString(s)}});
  }
  deliveryLatency_ = &r.histogram(
      "beckon_contact_request_delivery_seconds",
      "Time from a contact request's acceptance to the first 2xx to its NOTIFY.", kDelivery);

  // NOTIFYs.
  const char* kinds[] = {"request", "state"};
  for (int i = 0; i < 2; ++i) {
    notifyResponses_[i] = &r.statusCounter(
        "beckon_notify_responses_total",
        "NOTIFY transactions by final SIP status (408: no answer in time, 503: not sent or "
        "the connection failed); kind request: for a contact request, state: a subscription's "
        "state (idle, terminated).",
        {{"kind", kinds[i]}});
  }
  for (int i = 0; i < 2; ++i) {
    notifyDuration_[i] =
        &r.histogram("beckon_notify_duration_seconds",
                     "Time from sending a NOTIFY to its final response (challenges included).",
                     kLatency, {{"kind", kinds[i]}});
  }
  notifiesInFlight_ = &r.gauge("beckon_notifies_in_flight", "NOTIFYs sent and not answered yet.");

  // SOAP.
  for (auto op : kOperations) {
    auto& calls = soapCalls_[static_cast<int>(op)];
    const auto result = [&](const char* text) {
      return &r.counter("beckon_soap_requests_total",
                        "SOAP calls answered, by operation and result (ok, a fault code, or "
                        "error: an internal error).",
                        {{"operation", toString(op)}, {"result", text}});
    };
    calls[0] = result("ok");
    calls[1] = result("error");
    for (FaultCode f : kFaults)
      calls[2 + static_cast<int>(f)] = result(toString(f));
  }
  for (auto op : kOperations) {
    soapDuration_[static_cast<int>(op)] =
        &r.histogram("beckon_soap_request_duration_seconds",
                     "Time from a SOAP call's dispatch to its answer (ContactMe waits up to "
                     "its waitMs).",
                     kLatency, {{"operation", toString(op)}});
  }

  // The store.
  storeCommit_ =
      &r.histogram("beckon_store_commit_duration_seconds",
                   "Time one store transaction (a group of writes) took to commit.", kCommit);
  storeWrites_ = &r.counter("beckon_store_writes_total", "Writes committed to the store.");
  storeErrors_ =
      &r.counter("beckon_store_errors_total", "Store transactions that failed to commit.");
  storeQueue_ =
      &r.gauge("beckon_store_queue_depth", "Writes waiting for the store's writer thread.");

  const char* reloads = "Configuration reloads (SIGHUP): applied, or refused (the old one kept).";
  reloadsOk_ = &r.counter("beckon_config_reloads_total", reloads, {{"result", "applied"}});
  reloadsFailed_ = &r.counter("beckon_config_reloads_total", reloads, {{"result", "refused"}});

  b2buaCalls_ = &r.gauge("beckon_b2bua_calls", "B2BUA calls up now (both legs answered).");
  b2buaRebuilt_ = &r.counter("beckon_b2bua_legs_rebuilt_total",
                             "B2BUA callee legs made again after their flow was lost.");
  b2buaRebuildFailed_ =
      &r.counter("beckon_b2bua_rebuilds_failed_total",
                 "B2BUA callee legs lost and not made again (the caller's dialog was ended).");
  b2buaRebuildTime_ = &r.histogram("beckon_b2bua_rebuild_duration_seconds",
                                   "Time from a B2BUA callee leg's loss to its new leg answered.",
                                   {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});

  for (std::size_t i = 0; i < kLimits; ++i) {
    limitRefusals_[i] = &r.counter("beckon_limit_refusals_total",
                                   "Requests and connections refused or cut off by a limit, by the "
                                   "configuration key that sets it.",
                                   {{"limit", toString(static_cast<Limit>(i))}});
  }

  digestFailures_ = &r.counter("beckon_digest_failures_total",
                               "Digest credentials that failed: a wrong password, an unknown user, "
                               "a nonce that is not ours.");
  const char* blocked =
      "Digest attempts refused unchecked (403) because their source or user failed too often.";
  digestBlocked_[0] = &r.counter("beckon_digest_blocked_total", blocked, {{"by", "source"}});
  digestBlocked_[1] = &r.counter("beckon_digest_blocked_total", blocked, {{"by", "user"}});

  for (std::size_t i = 0; i < kBoundaries; ++i) {
    const auto b = static_cast<Boundary>(i);
    const BoundaryName n = nameOf(b);
    r.sampledCounter("beckon_exceptions_caught_total",
                     "Exceptions caught where a thread enters beckond's code (each logged once); "
                     "the thread went on.",
                     {{"thread", n.thread}, {"where", n.where}},
                     [b] { return static_cast<double>(caughtAt(b)); });
  }
}

void Metrics::bindingCounts(std::size_t registrations, std::size_t implicitSubscriptions,
                            std::size_t explicitSubscriptions) {
  bindings_->set(static_cast<std::int64_t>(registrations));
  implicitSubscriptions_->set(static_cast<std::int64_t>(implicitSubscriptions));
  explicitSubscriptions_->set(static_cast<std::int64_t>(explicitSubscriptions));
}

void Metrics::requestCreated() {
  requestsCreated_->inc();
  transitions_[index(RequestState::Queued)]->inc();
  requestsNow_[index(RequestState::Queued)]->add(1);
}

void Metrics::requestMoved(RequestState from, RequestState to) {
  if (from == to) return;
  requestsNow_[index(from)]->add(-1);
  requestsNow_[index(to)]->add(1);
  transitions_[index(to)]->inc();
}

void Metrics::soapCall(SoapOperation op, SoapResult result, FaultCode fault) {
  auto& calls = soapCalls_[static_cast<int>(op)];
  const int i = result == SoapResult::Ok      ? 0
                : result == SoapResult::Error ? 1
                                              : 2 + static_cast<int>(fault);
  calls[i]->inc();
}

}  // namespace beckon
