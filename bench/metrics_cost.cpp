// What one metric update costs on the hot path, ours (notifier/metrics.h)
// against prometheus-cpp's core library (Debian prometheus-cpp-dev), the
// choice issue 18 asks to measure. Each case runs THREADS threads updating
// the same metric (SOAP workers, the SIP thread and the store writer share
// the histograms and counters of a ContactMe), and prints ns per update; the
// render case times one /metrics exposition of a registry of beckond's size.
//
//   build/bin/metrics_cost [--threads N] [--seconds S]
#include <CLI/CLI.hpp>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "metrics.h"

namespace {

using Clock = std::chrono::steady_clock;

// ns per call of `op` with `threads` threads calling it for `seconds`.
double nsPerOp(int threads, double seconds, const std::function<void(std::uint64_t)>& op) {
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> total{0};
  std::vector<std::thread> pool;
  const auto start = Clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        for (int i = 0; i < 1000; ++i)
          op(n++ + static_cast<std::uint64_t>(t));
      }
      total += n;
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : pool)
    th.join();
  const double ns = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
  return ns * threads / static_cast<double>(total.load());
}

const std::vector<double> kBounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                  0.05,   0.1,   0.25,   0.5,   1,    2.5};

double sample(std::uint64_t n) {
  return kBounds[n % kBounds.size()] * 0.9;
}

int statusOf(std::uint64_t n) {
  return n % 10 == 0 ? 408 : 200;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"metric update cost: beckon's registry against prometheus-cpp"};
  int threads = 2;
  double seconds = 1.0;
  app.add_option("--threads", threads, "threads updating one metric")->check(CLI::Range(1, 64));
  app.add_option("--seconds", seconds, "seconds a case")->check(CLI::Range(0.1, 60.0));
  CLI11_PARSE(app, argc, argv);

  beckon::MetricRegistry ours;
  auto& counter = ours.counter("bench_counter_total", "c");
  auto& histogram = ours.histogram("bench_seconds", "h", kBounds);
  auto& status = ours.statusCounter("bench_responses_total", "s");

  prometheus::Registry theirs;
  auto& pc =
      prometheus::BuildCounter().Name("bench_counter_total").Help("c").Register(theirs).Add({});
  auto& ph = prometheus::BuildHistogram()
                 .Name("bench_seconds")
                 .Help("h")
                 .Register(theirs)
                 .Add({}, prometheus::Histogram::BucketBoundaries(kBounds));
  auto& statusFamily =
      prometheus::BuildCounter().Name("bench_responses_total").Help("s").Register(theirs);
  auto& p200 = statusFamily.Add({{"status", "200"}});
  auto& p408 = statusFamily.Add({{"status", "408"}});

  std::printf("threads=%d seconds=%.1f (ns per update, all threads together)\n", threads, seconds);
  std::printf("%-34s %10s %14s\n", "update", "beckon", "prometheus-cpp");
  auto row = [&](const char* what, double a, double b) {
    std::printf("%-34s %10.1f %14.1f\n", what, a, b);
  };
  row("counter inc", nsPerOp(threads, seconds, [&](std::uint64_t) { counter.inc(); }),
      nsPerOp(threads, seconds, [&](std::uint64_t) { pc.Increment(); }));
  row("histogram observe",
      nsPerOp(threads, seconds, [&](std::uint64_t n) { histogram.observe(sample(n)); }),
      nsPerOp(threads, seconds, [&](std::uint64_t n) { ph.Observe(sample(n)); }));
  row("SIP status counter (known codes)",
      nsPerOp(threads, seconds, [&](std::uint64_t n) { status.inc(statusOf(n)); }),
      nsPerOp(threads, seconds,
              [&](std::uint64_t n) { (statusOf(n) == 200 ? p200 : p408).Increment(); }));
  row("SIP status counter (label lookup)",
      nsPerOp(threads, seconds, [&](std::uint64_t n) { status.inc(statusOf(n)); }),
      nsPerOp(threads, seconds, [&](std::uint64_t n) {
        statusFamily.Add({{"status", std::to_string(statusOf(n))}}).Increment();
      }));

  // One exposition of the same registry in both: 30 histogram families of
  // 4 children and 30 counter families of 8 (beckond's set is about that).
  beckon::MetricRegistry mine;
  prometheus::Registry big;
  for (int f = 0; f < 30; ++f) {
    const std::string h = "bench_h" + std::to_string(f) + "_seconds";
    const std::string c = "bench_c" + std::to_string(f) + "_total";
    auto& hf = prometheus::BuildHistogram().Name(h).Help("h").Register(big);
    auto& cf = prometheus::BuildCounter().Name(c).Help("c").Register(big);
    for (int i = 0; i < 8; ++i) {
      const std::string v = std::to_string(i);
      if (i < 4) {
        hf.Add({{"op", v}}, prometheus::Histogram::BucketBoundaries(kBounds)).Observe(0.01);
        mine.histogram(h, "h", kBounds, {{"op", v}}).observe(0.01);
      }
      cf.Add({{"op", v}}).Increment();
      mine.counter(c, "c", {{"op", v}}).inc();
    }
  }
  const std::string rendered = mine.render();
  auto usPerCall = [&](const std::function<void()>& f) {
    const int n = 2000;
    const auto t0 = Clock::now();
    for (int i = 0; i < n; ++i)
      f();
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / n;
  };
  prometheus::TextSerializer serializer;
  std::printf("%-34s %10.1f %14.1f  (us; the same 360 series, %zu bytes)\n", "render /metrics",
              usPerCall([&] { (void)mine.render(); }),
              usPerCall([&] { (void)serializer.Serialize(big.Collect()); }), rendered.size());
  return 0;
}
