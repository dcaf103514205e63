// The push gateway client (RFC 8599's "push request" to a push
// notification service, here through an HTTP(S) gateway per provider that
// the operator runs or buys): one POST of a JSON body (docs/push.md) per
// push, made with libcurl on a worker thread of its own, never on the SIP
// thread. Outcomes go back to the core's thread through its Executor.
//
// push() runs on the SIP thread and only enqueues (bounded: beyond
// queue_limit a push fails at once). The worker runs every transfer at once
// on one curl multi handle, each bounded by its provider's timeout. One log
// line per push outcome: push id, provider, reason, HTTP status, duration.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ports.h"
#include "push.h"

namespace beckon {
class MetricRegistry;
}

namespace beckon::push {

// [[push.provider]]: where pushes of one pn-provider value go.
struct Provider {
  std::string name;                  // the pn-provider value devices register with
  std::string url;                   // http:// or https:// (the gateway's endpoint)
  std::vector<std::string> headers;  // further request header lines ("Authorization: Bearer ...")
  std::string basicUser;             // HTTP Basic when set
  std::string basicPassword;
  std::chrono::milliseconds timeout{5000};  // the whole POST: connect, send, answer
  std::chrono::milliseconds wait{30000};    // what is due waits this long for the device

  bool operator==(const Provider&) const = default;
};

struct GatewayConfig {
  std::vector<Provider> providers;
  std::string caFile;              // PEM CAs to verify https gateways; empty: the system's
  std::size_t queueLimit = 10000;  // pushes queued or in flight
  std::chrono::seconds refreshBefore{120};

  bool operator==(const GatewayConfig&) const = default;
};

// The POST body for `request` (docs/push.md). Text that is not UTF-8 (a
// From or Call-ID as it came from the wire) is written with U+FFFD.
std::string pushBody(const PushRequest& request);

class PushGateway final : public PushSender {
 public:
  // `core`: where outcomes are delivered (the SIP thread). Throws
  // std::invalid_argument naming a provider whose URL is not http(s)://.
  PushGateway(GatewayConfig config, Executor& core);
  ~PushGateway() override;  // stops
  PushGateway(const PushGateway&) = delete;
  PushGateway& operator=(const PushGateway&) = delete;

  // Starts the worker thread. Throws std::runtime_error when libcurl cannot
  // be set up. Once.
  void start();
  // Abandons what is queued or in flight (their outcomes are not told) and
  // joins: returns within about a second. Idempotent.
  void stop();

  // PushSender: from the SIP thread; never blocks on the network.
  void push(const PushRequest& request, std::function<void(const PushResult&)> done) override;

  // beckon_push_requests_total and beckon_push_request_duration_seconds per
  // provider, in `registry`. Before start().
  void setMetrics(MetricRegistry& registry);
  std::size_t pending() const;  // queued or in flight

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace beckon::push
