// The registration notice (contract: "Registration notice"): when a device
// becomes reachable for a package, beckond calls DeviceRegistered on the
// notice URL of every application server configured for that package, with
// a gSOAP client (HTTP or HTTPS), bounded retries and exponential back-off,
// off the SIP thread.
//
// deviceRegistered() runs on the SIP thread and only enqueues (a bounded
// queue: when full, the oldest notice is dropped with a warning); worker
// threads of the sender's own make the calls. One log line per notice
// outcome: application server, device, package, attempt, result.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ports.h"

namespace beckon::soap {

// An application server that wants registration notices.
struct NoticeTarget {
  std::string appServer;              // its name, for the log
  std::string url;                    // http://... or https://... (its DeviceRegistered endpoint)
  std::vector<std::string> packages;  // the packages it is told about
};

struct NoticeConfig {
  std::vector<NoticeTarget> targets;
  std::string caFile;  // PEM CAs to verify https notice URLs; empty: the system's
  std::string
      sipServer;  // the sipServer field: where devices register, e.g. "sip:beckon.example.com"
  unsigned attempts = 5;                         // calls per notice and target, the first included
  std::chrono::milliseconds firstBackoff{1000};  // before the second attempt, doubling after
  std::chrono::milliseconds maxBackoff{60000};
  std::chrono::milliseconds timeout{5000};  // per call: connect, send and answer
  std::size_t queueLimit = 10000;           // notices waiting (fresh and retries)
  unsigned threads = 2;
};

class NoticeSender final : public NoticeSink {
 public:
  // Throws std::invalid_argument naming the target with a URL that is not
  // http:// or https://, or when attempts or threads is 0.
  explicit NoticeSender(NoticeConfig config);
  ~NoticeSender() override;  // stops
  NoticeSender(const NoticeSender&) = delete;
  NoticeSender& operator=(const NoticeSender&) = delete;

  // Starts the worker threads. Throws std::runtime_error when the TLS client
  // context cannot be set up (an unreadable CA file). Once.
  void start();
  // Abandons what is still queued (with a log line), interrupts calls in
  // progress and joins: returns within about a second. Idempotent.
  void stop();

  // SIGHUP: where notices go from now on (notices already queued keep their
  // target). Throws std::invalid_argument as the constructor does.
  void setTargets(std::vector<NoticeTarget> targets);

  // NoticeSink: from the SIP thread; never blocks on the network.
  void deviceRegistered(const DeviceNotice& notice) override;

  struct Counters {
    std::uint64_t delivered = 0;  // notice x target answered
    std::uint64_t failed = 0;     // gave up after the last attempt
    std::uint64_t retried = 0;    // attempts that failed and were rescheduled
    std::uint64_t dropped = 0;    // pushed out of a full queue
  };
  Counters counters() const;
  std::size_t pending() const;  // queued, waiting for a retry, or in flight

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace beckon::soap
