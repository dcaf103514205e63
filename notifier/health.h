// Health for GET /healthz: a list of named checks (the SIP thread, the SOAP
// listener, later the store), each answering within its own bound.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "ports.h"

namespace beckon {

class HealthChecks {
 public:
  struct Result {
    bool ok = false;
    std::string detail;  // "answered in 0.2 ms", or what is wrong
  };
  // Must return within a short bound of its own (a second at most) and may
  // run on any thread, several at once.
  using Check = std::function<Result()>;

  // Thread-safe; checks run in the order they were added.
  void add(std::string name, Check check);

  struct Report {
    bool ok = true;    // every check passed
    std::string text;  // "ok\n" or "unhealthy\n", then "name: ok|failed (detail)" per check
  };
  Report run() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, Check>> checks_;
};

// A check that the executor's thread runs a posted no-op within `bound`.
HealthChecks::Result executorAnswers(Executor& executor, std::chrono::milliseconds bound);

}  // namespace beckon
