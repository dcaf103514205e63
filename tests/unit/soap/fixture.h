// Test doubles and helpers shared by the soap/ unit tests: the core's
// thread, a NOTIFY sender that answers 200, raw HTTP, and test PKI made with
// openssl at test time (never committed).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "core.h"
#include "service.h"

namespace soaptest {

using namespace std::chrono_literals;

// The core's thread: runs posted work in order.
class ThreadExecutor final : public beckon::Executor {
 public:
  ThreadExecutor() : thread_([this] { run(); }) {}
  ~ThreadExecutor() override {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  bool post(std::function<void()> work) override {
    std::lock_guard lock(mutex_);
    if (stop_) return false;
    work_.push_back(std::move(work));
    wake_.notify_all();
    return true;
  }
  // Runs `work` on the core's thread and waits for it.
  void call(const std::function<void()>& work) {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    post([&] {
      work();
      std::lock_guard lock(m);
      done = true;
      cv.notify_all();
    });
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return done; });
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stop_ || !work_.empty(); });
      if (work_.empty()) return;
      auto work = std::move(work_.front());
      work_.pop_front();
      lock.unlock();
      work();
      lock.lock();
    }
  }
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> work_;
  bool stop_ = false;
  std::thread thread_;
};

// Answers every NOTIFY 200, at once or from a later turn of the core's thread.
class AnsweringSender final : public beckon::NotifySender {
 public:
  explicit AnsweringSender(beckon::Executor& executor) : executor_(executor) {}
  bool async = false;
  void send(const beckon::Binding&, const beckon::OutgoingNotify&,
            std::function<void(const beckon::NotifyOutcome&)> done) override {
    if (async) {
      executor_.post([done] { done({200, "OK"}); });
    } else {
      done({200, "OK"});
    }
  }

 private:
  beckon::Executor& executor_;
};

// One HTTP exchange over a fresh connection; returns what the server sent
// until it closed the connection or `timeout` passed.
inline std::string httpExchange(std::uint16_t port, const std::string& request,
                                std::chrono::milliseconds timeout = 3000ms) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  BOOST_REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  BOOST_REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(request.size()));
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
    response.append(buf, n);
  ::close(fd);
  return response;
}

// Certificates for 127.0.0.1 made once per test run in a temporary directory:
// ca.pem; server.pem/server.key (CN=127.0.0.1, SAN IP:127.0.0.1, DNS:localhost);
// client.pem/client.key (CN=crm,O=Beckon Test, signed by the CA);
// rogue.pem/rogue.key (the same subject, self-signed).
struct TestPki {
  std::string dir;
  std::string path(const std::string& name) const { return dir + "/" + name; }
  // SHA-256 fingerprint as `openssl x509 -fingerprint -sha256` prints it.
  std::string fingerprint(const std::string& cert) const;
};
const TestPki& testPki();

}  // namespace soaptest
