// The device connecting back (docs/event-package.md section 8, step 3):
// an HTTP(S) GET of the request's path on its server, then on each trusted
// alt-server in order while the previous one cannot be reached. Runs on a
// thread of its own (libcurl blocks), so the NOTIFY is answered at once and
// the SIP side never waits; each finished request is reported as one
// "callback" event.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "callback_plan.h"
#include "report.h"
#include "time_slot.h"

namespace beckon::ua {

struct HttpOptions {
  std::string caFile;    // CAs for https (default: the system's)
  std::string certFile;  // client certificate for https, if any
  std::string keyFile;
  long connectTimeoutMs = 3000;
  long timeoutMs = 10000;  // whole request
  std::string userAgent;
  std::string device;  // the Beckon-Device header: this device's instance id
};

struct CallbackJob {
  CallbackPlan plan;
  SystemTime due;  // not before
};

// One attempt on one server.
struct Attempt {
  std::string url;
  long status = 0;    // HTTP status, 0 when none came
  std::string error;  // why none came
};

class CallbackWorker {
 public:
  CallbackWorker(HttpOptions options, Reporter& reporter);
  ~CallbackWorker();
  CallbackWorker(const CallbackWorker&) = delete;
  CallbackWorker& operator=(const CallbackWorker&) = delete;

  void submit(CallbackJob job);
  // Stops the thread: jobs still waiting are reported as not made, a request
  // under way is aborted.
  void stop();
  // Requests finished (reported), whatever their outcome.
  unsigned finished() const { return finished_.load(); }
  // Requests finished with a 2xx.
  unsigned succeeded() const { return succeeded_.load(); }

 private:
  void run();
  void perform(const CallbackJob& job);
  Attempt attempt(const CallbackJob& job, const CallbackTarget& target);
  static int progress(void* self, long long, long long, long long, long long);

  HttpOptions options_;
  Reporter& reporter_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<CallbackJob> jobs_;  // kept ordered by due time
  std::atomic<bool> stopping_{false};
  std::atomic<unsigned> finished_{0};
  std::atomic<unsigned> succeeded_{0};
  std::thread thread_;
};

}  // namespace beckon::ua
