#include "notice_sender.h"

#include <sys/socket.h>

#include <spdlog/spdlog.h>

#include "boundary.h"
#include "logfmt.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "soapContactMeProxy.h"
#include "thread_name.h"
#include "xml_text.h"

namespace beckon::soap {

namespace {

using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A connect in progress cannot be interrupted from another thread; connecting
// in slices this long (within the call's timeout) bounds how long stop() waits.
constexpr milliseconds kConnectSlice{500};

int gsoapMicros(milliseconds ms) {
  return -static_cast<int>(std::max<milliseconds::rep>(ms.count(), 1) * 1000);
}

struct Job {
  std::shared_ptr<const NoticeTarget> target;
  DeviceNotice notice;
  unsigned attempt = 1;  // the attempt to make next
};

std::string errorText(struct ::soap* soap) {
  if (soap->error >= 100 && soap->error < 600) {
    return "HTTP " + std::to_string(soap->error);  // gSOAP reports HTTP errors by status
  }
  if (soap->error == SOAP_EOF) return "connection closed without an answer";
  const char** s = soap_faultstring(soap);
  std::string text = s && *s ? *s : "error " + std::to_string(soap->error);
  const char** d = soap_faultdetail(soap);
  if (d && *d && **d) text += std::string(" (") + *d + ")";
  if (soap->fault) {
    SOAP_ENV__Detail* detail =
        soap->fault->SOAP_ENV__Detail ? soap->fault->SOAP_ENV__Detail : soap->fault->detail;
    if (detail && detail->cm__fault)
      text += std::string(" [") + soap_cm__FaultCode2s(soap, detail->cm__fault->code) + "]";
  }
  return text;
}

}  // namespace

// One worker thread with its gSOAP client.
struct NoticeWorker {
  NoticeSender::Impl* owner = nullptr;
  std::unique_ptr<ContactMeProxy> proxy;
  std::thread thread;
  SOAP_SOCKET socket = SOAP_INVALID_SOCKET;  // connected socket, guarded by Impl::mutex
  SOAP_SOCKET (*defaultOpen)(struct ::soap*, const char*, const char*, int) = nullptr;
  int (*defaultCloseSocket)(struct ::soap*, SOAP_SOCKET) = nullptr;
};

struct NoticeSender::Impl {
  explicit Impl(NoticeConfig c) : config(std::move(c)) {
    for (auto& t : config.targets)
      targets.push_back(std::make_shared<const NoticeTarget>(std::move(t)));
    config.targets.clear();
  }

  NoticeConfig config;  // its targets are in `targets`
  std::vector<std::unique_ptr<NoticeWorker>> workers;

  mutable std::mutex mutex;
  std::condition_variable wake;
  std::deque<Job> ready;
  std::multimap<Steady::time_point, Job> waiting;  // retries, by when they are due
  std::size_t inFlight = 0;
  // Queued jobs keep their own target: a reload changes where later notices go.
  std::vector<std::shared_ptr<const NoticeTarget>> targets;
  bool started = false;
  bool stopping = false;
  Counters counters;

  void run(NoticeWorker& w);
  bool take(Job& job);
  // One attempt; empty on success, else why it failed.
  std::string send(NoticeWorker& w, const Job& job);
  void settle(const Job& job, const std::string& error);
  milliseconds backoff(unsigned failedAttempts) const;
};

namespace {

SOAP_SOCKET openHook(struct ::soap* soap, const char* endpoint, const char* host, int port) {
  auto& w = *static_cast<NoticeWorker*>(soap->user);
  const SOAP_SOCKET s = w.defaultOpen(soap, endpoint, host, port);
  if (soap_valid_socket(s)) {
    std::lock_guard lock(w.owner->mutex);
    w.socket = s;
    if (w.owner->stopping) ::shutdown(s, SHUT_RDWR);
  }
  return s;
}

int closeSocketHook(struct ::soap* soap, SOAP_SOCKET s) {
  auto& w = *static_cast<NoticeWorker*>(soap->user);
  {
    // Before the close: stop() must never shut down a reused descriptor.
    std::lock_guard lock(w.owner->mutex);
    if (w.socket == s) w.socket = SOAP_INVALID_SOCKET;
  }
  return w.defaultCloseSocket(soap, s);
}

}  // namespace

milliseconds NoticeSender::Impl::backoff(unsigned failedAttempts) const {
  milliseconds b = config.firstBackoff;
  for (unsigned i = 1; i < failedAttempts && b < config.maxBackoff; ++i)
    b *= 2;
  return std::min(b, config.maxBackoff);
}

bool NoticeSender::Impl::take(Job& job) {
  std::unique_lock lock(mutex);
  for (;;) {
    if (stopping) return false;
    const auto now = Steady::now();
    while (!waiting.empty() && waiting.begin()->first <= now) {
      ready.push_back(std::move(waiting.begin()->second));
      waiting.erase(waiting.begin());
    }
    if (!ready.empty()) {
      job = std::move(ready.front());
      ready.pop_front();
      ++inFlight;
      return true;
    }
    if (waiting.empty()) {
      wake.wait(lock);
    } else {
      // A copy: while this thread waits, another may take that job and free
      // the node the time lives in.
      const auto until = waiting.begin()->first;
      wake.wait_until(lock, until);
    }
  }
}

std::string NoticeSender::Impl::send(NoticeWorker& w, const Job& job) {
  const NoticeTarget& target = *job.target;
  struct ::soap* soap = w.proxy->soap;
  _cm__DeviceRegistered request;
  // What the device sent may hold any byte: xmlSafe() (xml_text.h).
  request.deviceId = xmlSafe(job.notice.deviceId);
  request.aor = xmlSafe(job.notice.aor);
  std::string instance = xmlSafe(job.notice.instance);
  request.instance = instance.empty() ? nullptr : &instance;
  request.package = xmlSafe(job.notice.package);
  request.sipServer = config.sipServer;
  request.at = std::chrono::system_clock::to_time_t(job.notice.at);

  const auto deadline = Steady::now() + config.timeout;
  std::string error;
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Steady::now());
    soap->connect_timeout = gsoapMicros(std::min(left, kConnectSlice));
    soap->send_timeout = soap->recv_timeout = soap->transfer_timeout = gsoapMicros(left);
    _cm__DeviceRegisteredResponse response;
    const int rc = w.proxy->DeviceRegistered(target.url.c_str(), nullptr, &request, response);
    error = rc == SOAP_OK ? std::string() : errorText(soap);
    // Not connected within the slice (nothing was sent): connect again while
    // the call's time lasts.
    const bool connectTimedOut = rc == SOAP_TCP_ERROR && soap->errnum == 0;
    w.proxy->destroy();
    if (!connectTimedOut) break;
    {
      std::lock_guard lock(mutex);
      if (stopping) break;
    }
    if (Steady::now() + milliseconds(10) >= deadline) {
      error = "no connection within " + std::to_string(config.timeout.count()) + " ms";
      break;
    }
  }
  soap_force_closesock(soap);
  return error;
}

void NoticeSender::Impl::settle(const Job& job, const std::string& error) {
  const NoticeTarget& target = *job.target;
  const DeviceNotice& n = job.notice;
  std::unique_lock lock(mutex);
  --inFlight;
  if (error.empty()) {
    ++counters.delivered;
    lock.unlock();
    spdlog::info("notice sent app={} device={} package={} attempt={}", quoted(target.appServer),
                 quoted(n.deviceId), n.package, job.attempt);
    return;
  }
  if (stopping) {
    lock.unlock();
    spdlog::warn("notice failed app={} device={} package={} attempt={} error={} next=abandoned",
                 quoted(target.appServer), quoted(n.deviceId), n.package, job.attempt,
                 quoted(error));
    return;
  }
  if (job.attempt >= config.attempts) {
    ++counters.failed;
    lock.unlock();
    spdlog::warn("notice failed app={} device={} package={} attempt={} error={} next=none",
                 quoted(target.appServer), quoted(n.deviceId), n.package, job.attempt,
                 quoted(error));
    return;
  }
  ++counters.retried;
  const milliseconds wait = backoff(job.attempt);
  Job next = job;
  ++next.attempt;
  waiting.emplace(Steady::now() + wait, std::move(next));
  wake.notify_one();
  lock.unlock();
  spdlog::warn("notice failed app={} device={} package={} attempt={} error={} retry_in_ms={}",
               quoted(target.appServer), quoted(n.deviceId), n.package, job.attempt, quoted(error),
               wait.count());
}

void NoticeSender::Impl::run(NoticeWorker& w) {
  for (Job job; take(job);) {
    // An exception ends here (notifier/boundary.h): that attempt failed.
    std::string error = "internal error";
    guarded(
        Boundary::Notice, [&] { error = send(w, job); },
        [&] { return "app=" + job.target->appServer; });
    guarded(Boundary::Notice, [&] { settle(job, error); });
  }
}

namespace {

void checkTargets(const std::vector<NoticeTarget>& targets) {
  for (const NoticeTarget& t : targets) {
    if (t.url.rfind("http://", 0) != 0 && t.url.rfind("https://", 0) != 0) {
      throw std::invalid_argument("notice URL of application server '" + t.appServer +
                                  "' is not http:// or https://: '" + t.url + "'");
    }
  }
}

}  // namespace

NoticeSender::NoticeSender(NoticeConfig config) {
  if (config.attempts == 0) throw std::invalid_argument("notice: attempts must be at least 1");
  if (config.threads == 0) throw std::invalid_argument("notice: threads must be at least 1");
  checkTargets(config.targets);
  impl_ = std::make_unique<Impl>(std::move(config));
}

void NoticeSender::setTargets(std::vector<NoticeTarget> targets) {
  checkTargets(targets);
  std::vector<std::shared_ptr<const NoticeTarget>> fresh;
  for (auto& t : targets)
    fresh.push_back(std::make_shared<const NoticeTarget>(std::move(t)));
  std::lock_guard lock(impl_->mutex);
  impl_->targets = std::move(fresh);
}

NoticeSender::~NoticeSender() {
  stop();
}

void NoticeSender::start() {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.mutex);
    if (m.started) return;
  }
  soap_ssl_init();
  const NoticeConfig& c = m.config;
  std::vector<std::unique_ptr<NoticeWorker>> workers;
  for (unsigned i = 0; i < c.threads; ++i) {
    auto w = std::make_unique<NoticeWorker>();
    w->owner = &m;
    w->proxy = std::make_unique<ContactMeProxy>(SOAP_IO_DEFAULT | SOAP_C_UTFSTRING);
    struct ::soap* soap = w->proxy->soap;
    soap->user = w.get();
    soap->socket_flags = MSG_NOSIGNAL;
    w->defaultOpen = soap->fopen;
    soap->fopen = openHook;
    w->defaultCloseSocket = soap->fclosesocket;
    soap->fclosesocket = closeSocketHook;
    // https notice URLs: the server certificate is verified (and its name
    // against the URL's host), against caFile when given, else the system CAs.
    unsigned short flags = SOAP_SSL_DEFAULT | SOAP_TLSv1_2 | SOAP_TLSv1_3;
    if (!c.caFile.empty()) flags |= SOAP_SSL_NO_DEFAULT_CA_PATH;
    if (soap_ssl_client_context(soap, flags, nullptr, nullptr,
                                c.caFile.empty() ? nullptr : c.caFile.c_str(), nullptr, nullptr)) {
      throw std::runtime_error("notice: TLS client context (CA file '" + c.caFile +
                               "'): " + errorText(soap));
    }
    workers.push_back(std::move(w));
  }
  {
    std::lock_guard lock(m.mutex);
    m.workers = std::move(workers);
    m.started = true;
  }
  for (std::size_t i = 0; i < m.workers.size(); ++i) {
    m.workers[i]->thread =
        namedThread("notice-" + std::to_string(i), [&m, wp = m.workers[i].get()] { m.run(*wp); });
  }
  std::size_t targets = 0;
  {
    std::lock_guard lock(m.mutex);
    targets = m.targets.size();
  }
  spdlog::info("notice: {} application servers with a notice URL, {} threads", targets, c.threads);
}

void NoticeSender::stop() {
  Impl& m = *impl_;
  std::size_t abandoned = 0;
  {
    std::lock_guard lock(m.mutex);
    if (!m.started || m.stopping) return;
    m.stopping = true;
    abandoned = m.ready.size() + m.waiting.size();
    m.ready.clear();
    m.waiting.clear();
    for (auto& w : m.workers) {
      if (soap_valid_socket(w->socket)) ::shutdown(w->socket, SHUT_RDWR);
    }
  }
  m.wake.notify_all();
  for (auto& w : m.workers) {
    if (w->thread.joinable()) w->thread.join();
  }
  for (auto& w : m.workers) {
    w->proxy->destroy();
    w->proxy.reset();
  }
  if (abandoned) {
    spdlog::warn("notice: stopped; {} notices not sent (queued or waiting for a retry)", abandoned);
  } else {
    spdlog::info("notice: stopped");
  }
}

void NoticeSender::deviceRegistered(const DeviceNotice& notice) {
  Impl& m = *impl_;
  const NoticeConfig& c = m.config;
  std::uint64_t dropped = 0;
  {
    std::lock_guard lock(m.mutex);
    if (m.stopping) return;
    for (const auto& target : m.targets) {
      const auto& packages = target->packages;
      if (std::find(packages.begin(), packages.end(), notice.package) == packages.end()) continue;
      if (m.ready.size() + m.waiting.size() >= std::max<std::size_t>(c.queueLimit, 1)) {
        // The oldest goes: a fresh notice first, else the retry due soonest.
        if (!m.ready.empty()) {
          m.ready.pop_front();
        } else {
          m.waiting.erase(m.waiting.begin());
        }
        dropped = ++m.counters.dropped;
      }
      m.ready.push_back(Job{target, notice, 1});
      m.wake.notify_one();
    }
  }
  // A warning for the first drop, then one per 1000: the queue is full because
  // application servers do not answer, and the log must stay readable.
  if (dropped == 1 || (dropped && dropped % 1000 == 0)) {
    spdlog::warn("notice: queue full ({} notices): dropped the oldest ({} dropped so far)",
                 c.queueLimit, dropped);
  }
}

NoticeSender::Counters NoticeSender::counters() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->counters;
}

std::size_t NoticeSender::pending() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->ready.size() + impl_->waiting.size() + impl_->inFlight;
}

}  // namespace beckon::soap
