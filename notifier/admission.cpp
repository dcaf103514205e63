#include "admission.h"

#include <algorithm>
#include <cmath>

namespace beckon {

double TokenBucket::level(Clock::time_point now) const {
  const double elapsed = std::max(0.0, std::chrono::duration<double>(now - last_).count());
  return std::min(burst_, tokens_ + elapsed * rate_);
}

bool TokenBucket::take(Clock::time_point now) {
  tokens_ = level(now);
  last_ = std::max(last_, now);
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

std::chrono::milliseconds TokenBucket::wait(Clock::time_point now) const {
  const double missing = 1.0 - level(now);
  if (missing <= 0 || rate_ <= 0) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(static_cast<long long>(std::ceil(missing / rate_ * 1000.0)));
}

bool TokenBucket::full(Clock::time_point now) const {
  return level(now) >= burst_;
}

KeyedRateLimiter::KeyedRateLimiter(double rate, unsigned burst, std::size_t maxKeys)
    : rate_(rate), burst_(std::max(1u, burst)), maxKeys_(std::max<std::size_t>(1, maxKeys)) {}

std::optional<std::chrono::milliseconds> KeyedRateLimiter::take(const std::string& key,
                                                                Clock::time_point now) {
  if (rate_ <= 0) return std::nullopt;
  // Forget the least recently used buckets that have refilled: two at most
  // per call, so that the work per request stays constant.
  for (int i = 0; i < 2 && !uses_.empty(); ++i) {
    auto oldest = buckets_.find(uses_.back());
    if (oldest == buckets_.end() || oldest->first == key || !oldest->second.bucket.full(now)) break;
    uses_.pop_back();
    buckets_.erase(oldest);
  }
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= maxKeys_) {  // full of busy keys: the least recently used goes
      buckets_.erase(uses_.back());
      uses_.pop_back();
    }
    uses_.push_front(key);
    it = buckets_.emplace(key, Entry{TokenBucket(rate_, burst_, now), uses_.begin()}).first;
  } else {
    uses_.splice(uses_.begin(), uses_, it->second.use);
  }
  TokenBucket& bucket = it->second.bucket;
  if (bucket.take(now)) return std::nullopt;
  return bucket.wait(now);
}

ConnectionCount::Verdict ConnectionCount::admit(const std::string& source) {
  if (count_ >= total_) return Verdict::AllFull;
  unsigned& n = bySource_[source];
  if (n >= perSource_) return Verdict::SourceFull;
  ++n;
  ++count_;
  return Verdict::Admitted;
}

void ConnectionCount::release(const std::string& source) {
  auto it = bySource_.find(source);
  if (it == bySource_.end()) return;
  if (--it->second == 0) bySource_.erase(it);
  --count_;
}

unsigned ConnectionCount::from(const std::string& source) const {
  auto it = bySource_.find(source);
  return it == bySource_.end() ? 0 : it->second;
}

std::optional<std::size_t> Throttle::pass(Clock::time_point now) {
  if (last_ && now - *last_ < every_) {
    ++held_;
    return std::nullopt;
  }
  last_ = now;
  const std::size_t held = held_;
  held_ = 0;
  return held;
}

std::chrono::seconds retryAfterFirstExpiry(
    const std::vector<std::chrono::system_clock::time_point>& expiries,
    std::chrono::system_clock::time_point now) {
  constexpr std::chrono::seconds kMin{1}, kMax{600};
  if (expiries.empty()) return kMin;
  const auto first = *std::min_element(expiries.begin(), expiries.end());
  const auto left = std::chrono::ceil<std::chrono::seconds>(first - now);
  return std::clamp(left, kMin, kMax);
}

unsigned retryAfterSeconds(std::chrono::milliseconds wait) {
  const auto s = std::chrono::ceil<std::chrono::seconds>(wait).count();
  return static_cast<unsigned>(std::max<long long>(1, s));
}

}  // namespace beckon
