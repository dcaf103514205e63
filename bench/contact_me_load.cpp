// contact_me_load: drives beckond's ContactMe at a fixed rate or as fast as it
// goes, and reports delivered/s and latency percentiles. Each thread keeps one
// HTTP keep-alive connection. At a fixed rate, latency counts from the time a
// request was due, not from when it could be sent (no coordinated omission).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "soapContactMeProxy.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string server = "http://127.0.0.1:8080/";
  std::string devicePrefix = "dev";
  unsigned devices = 100;
  unsigned threads = 8;
  double rate = 0;  // requests per second in all; 0: as fast as the threads go
  double seconds = 20;
  unsigned waitMs = 2000;
  std::string runId = std::to_string(::time(nullptr));
};

struct Result {
  std::uint64_t delivered = 0, notDelivered = 0, errors = 0;
  std::vector<std::uint32_t> latencyUs;  // of delivered requests
};

void worker(const Options& o, unsigned index, Clock::time_point start, Result& out) {
  ContactMeProxy proxy(o.server.c_str(), SOAP_IO_KEEPALIVE | SOAP_C_UTFSTRING);
  proxy.soap->socket_flags = MSG_NOSIGNAL;
  proxy.soap->recv_timeout = -static_cast<int>(o.waitMs + 3000) * 1000;
  proxy.soap->send_timeout = 5;
  const auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  const auto interval = o.rate > 0 ? std::chrono::duration<double>(o.threads / o.rate)
                                   : std::chrono::duration<double>(0);
  std::uint64_t n = 0;
  out.latencyUs.reserve(o.rate > 0 ? static_cast<std::size_t>(o.rate * o.seconds / o.threads + 16)
                                   : 1 << 20);
  for (;; ++n) {
    // Threads start staggered so that a fixed rate is spread evenly.
    auto due =
        start + std::chrono::duration_cast<Clock::duration>(
                    interval * (static_cast<double>(n) + static_cast<double>(index) / o.threads));
    if (o.rate > 0) {
      if (due >= end) break;
      std::this_thread::sleep_until(due);
    } else {
      due = Clock::now();
      if (due >= end) break;
    }
    _cm__ContactMe request;
    request.deviceId = o.devicePrefix + std::to_string((n * o.threads + index) % o.devices + 1);
    request.requestId = "bench-" + o.runId + "-" + std::to_string(index) + "-" + std::to_string(n);
    unsigned waitMs = o.waitMs;
    request.waitMs = &waitMs;
    cm__ContactStatus status;
    const int rc = proxy.ContactMe(&request, status);
    const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - due);
    if (rc != SOAP_OK) {
      ++out.errors;
      if (out.errors <= 3) soap_print_fault(proxy.soap, stderr);
    } else if (status.state == cm__RequestState::delivered) {
      ++out.delivered;
      out.latencyUs.push_back(static_cast<std::uint32_t>(latency.count()));
    } else {
      ++out.notDelivered;
    }
    proxy.destroy();
  }
}

double percentile(const std::vector<std::uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1));
  return sorted[i] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App cli{"contact_me_load: ContactMe load against beckond"};
  cli.add_option("--server", o.server, "beckond's SOAP URL");
  cli.add_option("--device-prefix", o.devicePrefix, "device ids are PREFIX1..PREFIXN");
  cli.add_option("--devices", o.devices, "how many devices are registered");
  cli.add_option("--threads", o.threads, "connections, one thread each");
  cli.add_option("--rate", o.rate, "requests per second in all (0: as fast as possible)");
  cli.add_option("--seconds", o.seconds, "how long to run");
  cli.add_option("--wait-ms", o.waitMs, "waitMs of each request");
  cli.add_option("--run-id", o.runId, "makes requestIds unique across runs");
  CLI11_PARSE(cli, argc, argv);

  std::vector<Result> results(o.threads);
  std::vector<std::thread> threads;
  const auto start = Clock::now() + std::chrono::milliseconds(100);
  for (unsigned i = 0; i < o.threads; ++i) {
    threads.emplace_back(worker, std::cref(o), i, start, std::ref(results[i]));
  }
  for (auto& t : threads)
    t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  Result all;
  for (auto& r : results) {
    all.delivered += r.delivered;
    all.notDelivered += r.notDelivered;
    all.errors += r.errors;
    all.latencyUs.insert(all.latencyUs.end(), r.latencyUs.begin(), r.latencyUs.end());
  }
  std::sort(all.latencyUs.begin(), all.latencyUs.end());
  std::printf(
      "rate=%s threads=%u seconds=%.1f delivered=%llu not_delivered=%llu errors=%llu "
      "delivered_per_s=%.0f "
      "p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
      o.rate > 0 ? std::to_string(static_cast<long>(o.rate)).c_str() : "max", o.threads, elapsed,
      static_cast<unsigned long long>(all.delivered),
      static_cast<unsigned long long>(all.notDelivered),
      static_cast<unsigned long long>(all.errors), all.delivered / elapsed,
      percentile(all.latencyUs, 50), percentile(all.latencyUs, 90), percentile(all.latencyUs, 99),
      all.latencyUs.empty() ? 0.0 : all.latencyUs.back() / 1000.0);
  return all.errors == 0 && all.notDelivered == 0 ? 0 : 1;
}
