// [limits] on the requests devices send: how many Contacts, bindings and
// subscriptions, and how often an address of record may REGISTER and
// SUBSCRIBE (one token bucket per address of record, shared by both).
// Lives on the SIP thread.
#pragma once

#include <spdlog/spdlog.h>

#include <optional>
#include <string>

#include "admission.h"
#include "clock.h"
#include "metrics.h"

namespace beckon::sip {

class RequestLimits {
 public:
  explicit RequestLimits(const Limits& limits, Metrics* metrics = nullptr)
      : limits_(limits),
        metrics_(metrics),
        aorRate_(limits.aorRate, limits.aorBurst, limits.aorTracked) {}

  const Limits& limits() const { return limits_; }
  // Counts a refusal in /metrics (beckon_limit_refusals_total).
  void refused(Metrics::Limit l) const {
    if (metrics_) metrics_->limitRefused(l);
  }
  // Counted after authentication: a stranger cannot use up a device's
  // requests. The seconds to wait (Retry-After) when `aor` is over its rate.
  // Logs the refusal (a line a second at most: a hammering device must not
  // flood the log).
  std::optional<unsigned> overRate(const std::string& method, const std::string& aor,
                                   const std::string& source, TimePoint now) {
    const auto wait = aorRate_.take(aor, now);
    if (!wait) return std::nullopt;
    refused(Metrics::Limit::AorRate);
    const unsigned seconds = retryAfterSeconds(*wait);
    if (const auto held = rateLog_.pass(Throttle::Clock::now())) {
      spdlog::warn(
          "{} aor={} source={}: over limits.aor_rate, 503 Retry-After {} ({} more such "
          "since the last line)",
          method, aor, source.empty() ? "-" : source, seconds, *held);
    }
    return seconds;
  }

 private:
  Limits limits_;
  Metrics* metrics_;
  KeyedRateLimiter aorRate_;
  Throttle rateLog_;
};

}  // namespace beckon::sip
