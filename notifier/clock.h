// Time for the core. Everything in notifier/ reads time through Clock so that
// tests can drive it by hand; sip/ and app/ give it the system clock.
#pragma once

#include <chrono>

namespace beckon {

using TimePoint = std::chrono::system_clock::time_point;
using std::chrono::milliseconds;
using std::chrono::seconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

// A clock that only moves when told to (tests, simulations).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{} + std::chrono::hours(24 * 365 * 56))
      : now_(start) {}
  TimePoint now() const override { return now_; }
  void advance(std::chrono::milliseconds d) { now_ += d; }

 private:
  TimePoint now_;
};

}  // namespace beckon
