#include "callback.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>

namespace beckon::ua {

namespace {

std::size_t discard(char*, std::size_t size, std::size_t n, void*) {
  return size * n;  // the answer's body is the application's business, not ours
}

Event attemptJson(const Attempt& a) {
  Event e = Event::object();
  e["url"] = a.url;
  e["status"] = a.status;
  if (!a.error.empty()) e["error"] = a.error;
  return e;
}

// An answer below 500 means the server was reached (whatever it thought of
// the request): no alternate is tried. No answer, or a 5xx (a front end
// whose application is down), moves on to the next server.
bool reached(const Attempt& a) {
  return a.status > 0 && a.status < 500;
}

}  // namespace

CallbackWorker::CallbackWorker(HttpOptions options, Reporter& reporter)
    : options_(std::move(options)), reporter_(reporter) {
  thread_ = std::thread(&CallbackWorker::run, this);
}

CallbackWorker::~CallbackWorker() {
  stop();
}

void CallbackWorker::submit(CallbackJob job) {
  {
    std::lock_guard lock(mutex_);
    const auto at =
        std::upper_bound(jobs_.begin(), jobs_.end(), job.due,
                         [](const SystemTime& due, const CallbackJob& j) { return due < j.due; });
    jobs_.insert(at, std::move(job));
  }
  wake_.notify_one();
}

void CallbackWorker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  for (const auto& job : jobs_) {
    Event e = Event::object();
    e["request_id"] = job.plan.requestId;
    e["ok"] = false;
    e["reason"] = "not made: beckon-ua is exiting";
    reporter_.emit("callback", e);
    ++finished_;
  }
  jobs_.clear();
}

void CallbackWorker::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (jobs_.empty()) {
      wake_.wait(lock);
      continue;
    }
    if (std::chrono::system_clock::now() < jobs_.front().due) {
      wake_.wait_until(lock, jobs_.front().due);
      continue;
    }
    CallbackJob job = std::move(jobs_.front());
    jobs_.erase(jobs_.begin());
    lock.unlock();
    perform(job);
    lock.lock();
  }
}

void CallbackWorker::perform(const CallbackJob& job) {
  Event attempts = Event::array();
  Attempt last;
  for (const auto& target : job.plan.targets) {
    last = attempt(job, target);
    attempts.push_back(attemptJson(last));
    if (reached(last) || stopping_) break;
  }
  const bool ok = last.status >= 200 && last.status < 300;
  Event e = Event::object();
  e["request_id"] = job.plan.requestId;
  e["ok"] = ok;
  e["url"] = last.url;
  e["status"] = last.status;
  if (!job.plan.function.empty()) e["function"] = job.plan.function;
  if (!ok) e["reason"] = last.error.empty() ? "HTTP " + std::to_string(last.status) : last.error;
  e["attempts"] = attempts;
  reporter_.emit("callback", e);
  if (ok) ++succeeded_;
  ++finished_;
}

int CallbackWorker::progress(void* self, long long, long long, long long, long long) {
  return static_cast<CallbackWorker*>(self)->stopping_ ? 1 : 0;  // nonzero aborts
}

Attempt CallbackWorker::attempt(const CallbackJob& job, const CallbackTarget& target) {
  Attempt a;
  a.url = target.url;
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) {
    a.error = "cannot create a libcurl handle";
    return a;
  }
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(nullptr, curl_slist_free_all);
  auto header = [&](const std::string& h) {
    curl_slist* l = curl_slist_append(headers.get(), h.c_str());
    if (l) headers.release(), headers.reset(l);
  };
  header("Beckon-Request-Id: " + job.plan.requestId);
  if (!job.plan.function.empty()) header("Beckon-Function: " + job.plan.function);
  if (!options_.device.empty()) header("Beckon-Device: " + options_.device);

  char error[CURL_ERROR_SIZE] = "";
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, target.url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, options_.userAgent.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect could lead to an untrusted host
  curl_easy_setopt(c, CURLOPT_PROXY, "");           // the device talks to the server itself
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, options_.connectTimeoutMs);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, options_.timeoutMs);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &discard);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &CallbackWorker::progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, this);
  if (!options_.caFile.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.caFile.c_str());
  if (!options_.certFile.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, options_.certFile.c_str());
    curl_easy_setopt(c, CURLOPT_SSLKEY,
                     (options_.keyFile.empty() ? options_.certFile : options_.keyFile).c_str());
  }
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    a.error = error[0] ? error : curl_easy_strerror(rc);
    return a;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
  return a;
}

}  // namespace beckon::ua
