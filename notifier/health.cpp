#include "health.h"

#include <future>
#include <memory>

#include <spdlog/fmt/fmt.h>

namespace beckon {

void HealthChecks::add(std::string name, Check check) {
  std::lock_guard lock(mutex_);
  checks_.emplace_back(std::move(name), std::move(check));
}

HealthChecks::Report HealthChecks::run() const {
  std::vector<std::pair<std::string, Check>> checks;
  {
    std::lock_guard lock(mutex_);
    checks = checks_;
  }
  Report report;
  std::string lines;
  for (const auto& [name, check] : checks) {
    Result r;
    try {
      r = check();
    } catch (const std::exception& e) {
      r = {false, e.what()};
    }
    report.ok = report.ok && r.ok;
    lines += name + (r.ok ? ": ok" : ": failed") + (r.detail.empty() ? "" : " (" + r.detail + ")") +
             "\n";
  }
  report.text = (report.ok ? "ok\n" : "unhealthy\n") + lines;
  return report;
}

HealthChecks::Result executorAnswers(Executor& executor, std::chrono::milliseconds bound) {
  // Shared: the no-op may still run after this check has given up on it.
  auto done = std::make_shared<std::promise<void>>();
  auto answered = done->get_future();
  const auto start = std::chrono::steady_clock::now();
  if (!executor.post([done] { done->set_value(); })) return {false, "not running"};
  if (answered.wait_for(bound) != std::future_status::ready) {
    return {false, fmt::format("no answer within {} ms", bound.count())};
  }
  const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
  return {true, fmt::format("answered in {:.1f} ms", took.count())};
}

}  // namespace beckon
