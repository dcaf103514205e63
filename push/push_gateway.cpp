#include "push_gateway.h"

#include "boundary.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "logfmt.h"
#include "metrics.h"
#include "thread_name.h"

namespace beckon::push {

namespace {

using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How long the worker sleeps in curl_multi_poll at most when nothing
// happens: push() and stop() wake it at once (curl_multi_wakeup).
constexpr int kPollMs = 1000;
// What is kept of a gateway's answer for the log when it refuses a push.
constexpr std::size_t kKeptAnswer = 200;

enum Result { kSent, kRefused, kFailed, kUnreachable, kDropped, kResults };
constexpr std::array<const char*, kResults> kResultNames{"sent", "refused", "failed", "unreachable",
                                                         "dropped"};
constexpr std::array<PushReason, 3> kReasons{PushReason::ContactMe, PushReason::Call,
                                             PushReason::Refresh};

struct Job {
  PushRequest request;
  std::string body;
  std::size_t provider = 0;  // index in the configuration
  std::function<void(const PushResult&)> done;
};

struct Transfer {
  Job job;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  Steady::time_point started;
  std::string answer;  // the first kKeptAnswer bytes
  char error[CURL_ERROR_SIZE] = "";

  ~Transfer() {
    if (easy) curl_easy_cleanup(easy);
    if (headers) curl_slist_free_all(headers);
  }
};

std::size_t keepAnswer(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t bytes = size * n;
  if (t->answer.size() < kKeptAnswer)
    t->answer.append(data, std::min(bytes, kKeptAnswer - t->answer.size()));
  return bytes;
}

std::string printable(const std::string& text) {
  std::string out;
  for (unsigned char c : text)
    out += c >= 0x20 && c < 0x7f ? static_cast<char>(c) : ' ';
  return out;
}

}  // namespace

std::string pushBody(const PushRequest& r) {
  using nlohmann::json;
  json j = {
      {"id", r.id},
      {"provider", r.target.provider},
      {"prid", r.target.prid},
      {"param", r.target.param},
      {"reason", toString(r.reason)},
      {"aor", r.aor},
      {"instance", r.instance},
  };
  if (r.reason == PushReason::ContactMe) {
    j["requestId"] = r.requestId;
    j["appServer"] = r.appServer;
  } else if (r.reason == PushReason::Call) {
    j["method"] = r.method;
    j["callId"] = r.callId;
    j["from"] = r.from;
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

struct PushGateway::Impl {
  Impl(GatewayConfig c, Executor& e) : config(std::move(c)), core(e) {}

  GatewayConfig config;
  Executor& core;
  CURLM* multi = nullptr;
  std::thread thread;

  mutable std::mutex mutex;  // guards what follows
  std::deque<Job> queued;
  std::size_t inFlight = 0;
  bool started = false;
  bool stopping = false;

  // [provider][reason][result], and the duration per provider; null
  // without setMetrics.
  std::vector<std::array<std::array<Counter*, kResults>, 3>> counters;
  std::vector<Histogram*> durations;

  void run();
  void begin(std::map<CURL*, std::unique_ptr<Transfer>>& transfers, Job job);
  void finish(Transfer& t, CURLcode code);
  void count(std::size_t provider, PushReason reason, Result result) {
    if (counters.empty()) return;
    counters[provider][static_cast<std::size_t>(reason)][result]->inc();
  }
};

PushGateway::PushGateway(GatewayConfig config, Executor& core) {
  for (const Provider& p : config.providers) {
    if (p.url.rfind("http://", 0) != 0 && p.url.rfind("https://", 0) != 0)
      throw std::invalid_argument("push provider '" + p.name + "': url is not http(s)://");
  }
  impl_ = std::make_unique<Impl>(std::move(config), core);
}

PushGateway::~PushGateway() {
  stop();
}

void PushGateway::setMetrics(MetricRegistry& registry) {
  Impl& m = *impl_;
  const char* help =
      "Pushes to the push gateways (RFC 8599), by provider, reason and result: sent (2xx), "
      "refused (4xx: e.g. an unknown push resource id), failed (another HTTP status), "
      "unreachable (no answer within the timeout, no connection), dropped (queue full).";
  for (const Provider& p : m.config.providers) {
    auto& byReason = m.counters.emplace_back();
    for (PushReason reason : kReasons) {
      for (std::size_t r = 0; r < kResults; ++r) {
        byReason[static_cast<std::size_t>(reason)][r] = &registry.counter(
            "beckon_push_requests_total", help,
            {{"provider", p.name}, {"reason", toString(reason)}, {"result", kResultNames[r]}});
      }
    }
    m.durations.push_back(&registry.histogram(
        "beckon_push_request_duration_seconds",
        "From a push's POST to the gateway's answer (or the end of its timeout), by provider.",
        {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}, {{"provider", p.name}}));
  }
}

void PushGateway::start() {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.mutex);
    if (m.started) return;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    throw std::runtime_error("push: libcurl cannot be initialised");
  m.multi = curl_multi_init();
  if (!m.multi) throw std::runtime_error("push: libcurl cannot make a multi handle");
  {
    std::lock_guard lock(m.mutex);
    m.started = true;
  }
  m.thread = namedThread("push", [&m] { m.run(); });
  spdlog::info("push: {} providers, worker started", m.config.providers.size());
}

void PushGateway::stop() {
  Impl& m = *impl_;
  std::size_t abandoned = 0;
  {
    std::lock_guard lock(m.mutex);
    if (!m.started || m.stopping) return;
    m.stopping = true;
    abandoned = m.queued.size() + m.inFlight;
  }
  curl_multi_wakeup(m.multi);
  if (m.thread.joinable()) m.thread.join();
  curl_multi_cleanup(m.multi);
  m.multi = nullptr;
  curl_global_cleanup();
  if (abandoned) {
    spdlog::warn("push: stopped; {} pushes not finished (queued or in flight)", abandoned);
  } else {
    spdlog::info("push: stopped");
  }
}

void PushGateway::push(const PushRequest& request, std::function<void(const PushResult&)> done) {
  Impl& m = *impl_;
  const auto provider =
      std::find_if(m.config.providers.begin(), m.config.providers.end(),
                   [&](const Provider& p) { return p.name == request.target.provider; });
  const char* refused = nullptr;
  std::size_t index = 0;
  if (provider == m.config.providers.end()) {
    refused = "no [[push.provider]] of that name";
  } else {
    index = static_cast<std::size_t>(provider - m.config.providers.begin());
    std::lock_guard lock(m.mutex);
    if (!m.started || m.stopping) {
      refused = "the push client is not running";
    } else if (m.queued.size() + m.inFlight >= m.config.queueLimit) {
      refused = "too many pushes queued (push.queue_limit)";
    } else {
      m.queued.push_back(Job{request, pushBody(request), index, std::move(done)});
      curl_multi_wakeup(m.multi);  // under the lock: stop() cannot free it meanwhile
      return;
    }
  }
  if (provider != m.config.providers.end()) m.count(index, request.reason, kDropped);
  spdlog::warn("push failed push={} provider={} reason={} problem={}", request.id,
               beckon::quoted(request.target.provider), toString(request.reason),
               beckon::quoted(refused));
  done({false, 0, refused});
}

std::size_t PushGateway::pending() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->queued.size() + impl_->inFlight;
}

void PushGateway::Impl::begin(std::map<CURL*, std::unique_ptr<Transfer>>& transfers, Job job) {
  const Provider& p = config.providers[job.provider];
  auto t = std::make_unique<Transfer>();
  t->job = std::move(job);
  t->started = Steady::now();
  t->easy = curl_easy_init();
  if (!t->easy) {
    finish(*t, CURLE_OUT_OF_MEMORY);
    return;
  }
  t->headers = curl_slist_append(t->headers, "Content-Type: application/json");
  t->headers = curl_slist_append(t->headers, "Expect:");  // no 100-continue round trip
  for (const std::string& h : p.headers)
    t->headers = curl_slist_append(t->headers, h.c_str());
  CURL* c = t->easy;
  curl_easy_setopt(c, CURLOPT_URL, p.url.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(t->job.body.size()));
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, t->job.body.data());  // lives with the transfer
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->headers);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "beckon/" BECKON_VERSION);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");  // the environment's proxies are not beckond's
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(p.timeout.count()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &keepAnswer);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->error);
  curl_easy_setopt(c, CURLOPT_PRIVATE, t.get());
  if (!config.caFile.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, config.caFile.c_str());
  if (!p.basicUser.empty()) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERNAME, p.basicUser.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, p.basicPassword.c_str());
  }
  if (curl_multi_add_handle(multi, c) != CURLM_OK) {
    finish(*t, CURLE_FAILED_INIT);
    return;
  }
  transfers.emplace(c, std::move(t));
}

void PushGateway::Impl::finish(Transfer& t, CURLcode code) {
  const Provider& p = config.providers[t.job.provider];
  const PushRequest& r = t.job.request;
  const auto took = Steady::now() - t.started;
  long status = 0;
  if (code == CURLE_OK && t.easy) curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
  PushResult result;
  result.httpStatus = static_cast<int>(status);
  Result kind = kSent;
  if (code == CURLE_OPERATION_TIMEDOUT) {
    kind = kUnreachable;
    result.problem =
        "no answer from the gateway within " + std::to_string(p.timeout.count()) + " ms";
  } else if (code != CURLE_OK) {
    kind = kUnreachable;
    result.problem = std::string("cannot reach the gateway: ") +
                     (t.error[0] ? t.error : curl_easy_strerror(code));
  } else if (status >= 200 && status < 300) {
    result.sent = true;
  } else {
    kind = status >= 400 && status < 500 ? kRefused : kFailed;
    result.problem = "the gateway answered HTTP " + std::to_string(status);
  }
  count(t.job.provider, r.reason, kind);
  if (!durations.empty()) durations[t.job.provider]->observe(took);
  const auto ms = std::chrono::duration<double, std::milli>(took).count();
  if (result.sent) {
    spdlog::info("push sent push={} provider={} reason={} status={} duration_ms={:.1f}", r.id,
                 p.name, toString(r.reason), status, ms);
  } else {
    spdlog::warn(
        "push failed push={} provider={} reason={} status={} problem={} answer={} "
        "duration_ms={:.1f}",
        r.id, p.name, toString(r.reason), status, beckon::quoted(result.problem),
        beckon::quoted(printable(t.answer)), ms);
  }
  // To the core's thread; when it has stopped, nobody waits any more.
  core.post([done = std::move(t.job.done), result]() { done(result); });
}

void PushGateway::Impl::run() {
  std::map<CURL*, std::unique_ptr<Transfer>> transfers;
  for (;;) {
    std::deque<Job> fresh;
    {
      std::lock_guard lock(mutex);
      if (stopping) break;
      fresh.swap(queued);
      inFlight += fresh.size();
    }
    for (Job& job : fresh) {
      // An exception ends here (notifier/boundary.h): the push has failed.
      auto done = job.done;
      const std::string id = job.request.id;
      if (!guarded(
              Boundary::Push, [&] { begin(transfers, std::move(job)); },
              [&] { return "push=" + id; })) {
        core.post([done] { done({false, 0, "internal error"}); });
      }
    }
    int running = 0;
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      auto it = transfers.find(msg->easy_handle);
      if (it == transfers.end()) continue;
      const CURLcode code = msg->data.result;
      curl_multi_remove_handle(multi, it->first);
      guarded(
          Boundary::Push, [&] { finish(*it->second, code); },
          [&] { return "push=" + it->second->job.request.id; });
      transfers.erase(it);
    }
    {
      std::lock_guard lock(mutex);
      inFlight = transfers.size();
    }
    curl_multi_poll(multi, nullptr, 0, kPollMs, nullptr);
  }
  for (auto& [easy, t] : transfers)
    curl_multi_remove_handle(multi, easy);
  transfers.clear();  // their outcomes are not told: the core has stopped
  std::lock_guard lock(mutex);
  inFlight = 0;
}

}  // namespace beckon::push
