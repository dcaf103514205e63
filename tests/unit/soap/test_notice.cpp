// NoticeSender: DeviceRegistered calls to application-server stubs.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fixture.h"
#include "notice_sender.h"
#include "soap_server.h"

namespace {

using namespace soaptest;
using beckon::soap::NoticeConfig;
using beckon::soap::NoticeSender;

// A minimal application server: takes one HTTP request per connection and
// answers it with the status `answer(n)` gives for the n-th request (0: keep
// the connection open without answering, until stop).
class StubAppServer {
 public:
  explicit StubAppServer(std::function<int(int)> answer) : answer_(std::move(answer)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t length = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &length);
    port_ = ntohs(addr.sin_port);
    ::listen(fd_, 16);
    thread_ = std::thread([this] { run(); });
  }
  ~StubAppServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/notice"; }
  std::vector<std::string> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::size_t count() const { return requests().size(); }

 private:
  void run() {
    for (int n = 1; !stop_; ++n) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string request;
      char buf[4096];
      timeval tv{0, 100'000};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      for (;;) {
        const ssize_t got = ::recv(c, buf, sizeof buf, 0);
        if (got > 0) request.append(buf, got);
        const std::size_t end = request.find("\r\n\r\n");
        if (end != std::string::npos) {
          const std::size_t cl = request.find("Content-Length: ");
          const std::size_t length =
              cl == std::string::npos ? 0 : std::stoul(request.substr(cl + 16));
          if (request.size() >= end + 4 + length) break;
        }
        if (got == 0 || stop_) break;
      }
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
      }
      const int status = answer_(n);
      if (status == 0) {
        while (!stop_ && ::recv(c, buf, sizeof buf, 0) != 0) {
        }
      } else {
        const std::string body =
            status == 200 ? "<?xml version=\"1.0\"?><s:Envelope "
                            "xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
                            "<DeviceRegisteredResponse xmlns=\"urn:beckon:contact-me:1\"/>"
                            "</s:Body></s:Envelope>"
                          : "busy";
        const std::string response =
            "HTTP/1.1 " + std::to_string(status) +
            " X\r\nContent-Type: " + (status == 200 ? "text/xml" : "text/plain") +
            "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
            body;
        ::send(c, response.data(), response.size(), MSG_NOSIGNAL);
      }
      ::close(c);
    }
  }

  std::function<int(int)> answer_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<std::string> requests_;
};

beckon::DeviceNotice notice(const std::string& package = beckon::kDefaultPackage) {
  beckon::DeviceNotice n;
  n.deviceId = "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6";
  n.aor = "sip:7546658000@example.com";
  n.instance = n.deviceId;
  n.package = package;
  n.at = std::chrono::system_clock::from_time_t(1795000000);  // 2026-11-18T11:06:40Z
  return n;
}

NoticeConfig config(std::vector<beckon::soap::NoticeTarget> targets) {
  NoticeConfig c;
  c.targets = std::move(targets);
  c.sipServer = "sip:beckon.example.com";
  c.firstBackoff = 50ms;
  c.maxBackoff = 200ms;
  c.timeout = 2000ms;
  return c;
}

bool waitFor(const std::function<bool()>& done, std::chrono::milliseconds limit = 5000ms) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(notices)

BOOST_AUTO_TEST_CASE(each_app_server_of_the_package_is_told) {
  StubAppServer crm([](int) { return 200; });
  StubAppServer other([](int) { return 200; });
  NoticeSender sender(config(
      {{"crm", crm.url(), {beckon::kDefaultPackage}}, {"other", other.url(), {"other-package"}}}));
  sender.start();
  const auto started = std::chrono::steady_clock::now();
  sender.deviceRegistered(notice());
  BOOST_TEST((std::chrono::steady_clock::now() - started < 50ms));  // only enqueues
  BOOST_REQUIRE(waitFor([&] { return sender.counters().delivered == 1; }));
  BOOST_TEST(other.count() == 0u);
  const std::string request = crm.requests().at(0);
  BOOST_TEST(request.rfind("POST /notice HTTP/1.1", 0) == 0, request);
  for (const char* part :
       {"<cm:DeviceRegistered>",
        "<cm:deviceId>urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6</cm:deviceId>",
        "<cm:aor>sip:7546658000@example.com</cm:aor>",
        "<cm:instance>urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6</cm:instance>",
        "<cm:package>application-server-contact-me</cm:package>",
        "<cm:sipServer>sip:beckon.example.com</cm:sipServer>",
        "<cm:at>2026-11-18T11:06:40Z</cm:at>"}) {
    BOOST_TEST(request.find(part) != std::string::npos, part);
  }
  sender.stop();
}

BOOST_AUTO_TEST_CASE(failures_are_retried_with_back_off_then_given_up) {
  StubAppServer flaky([](int n) { return n <= 2 ? 503 : 200; });
  StubAppServer down([](int) { return 500; });
  NoticeConfig c = config({{"flaky", flaky.url(), {beckon::kDefaultPackage}},
                           {"down", down.url(), {beckon::kDefaultPackage}}});
  c.attempts = 3;
  NoticeSender sender(c);
  sender.start();
  sender.deviceRegistered(notice());
  BOOST_REQUIRE(waitFor([&] {
    const auto k = sender.counters();
    return k.delivered == 1 && k.failed == 1;
  }));
  BOOST_TEST(flaky.count() == 3u);
  BOOST_TEST(down.count() == 3u);  // attempts, no more
  BOOST_TEST(sender.counters().retried == 4u);
  BOOST_TEST(sender.pending() == 0u);
  sender.stop();
}

BOOST_AUTO_TEST_CASE(a_full_queue_drops_the_oldest) {
  NoticeConfig c = config({{"crm", "http://127.0.0.1:9/", {beckon::kDefaultPackage}}});
  c.queueLimit = 3;
  NoticeSender sender(c);  // not started: everything stays queued
  for (int i = 0; i < 5; ++i)
    sender.deviceRegistered(notice());
  BOOST_TEST(sender.pending() == 3u);
  BOOST_TEST(sender.counters().dropped == 2u);
  sender.deviceRegistered(notice("unconfigured-package"));
  BOOST_TEST(sender.pending() == 3u);
}

BOOST_AUTO_TEST_CASE(stop_interrupts_calls_and_abandons_retries) {
  StubAppServer silent([](int) { return 0; });  // never answers
  StubAppServer down([](int) { return 503; });
  NoticeConfig c = config({{"silent", silent.url(), {beckon::kDefaultPackage}},
                           {"down", down.url(), {beckon::kDefaultPackage}}});
  c.timeout = 20000ms;
  c.firstBackoff = 60000ms;
  c.maxBackoff = 60000ms;
  NoticeSender sender(c);
  sender.start();
  sender.deviceRegistered(notice());
  BOOST_REQUIRE(waitFor([&] { return silent.count() == 1 && sender.counters().retried == 1; }));
  const auto started = std::chrono::steady_clock::now();
  sender.stop();
  BOOST_TEST((std::chrono::steady_clock::now() - started < 1500ms));
  sender.deviceRegistered(notice());  // after stop: ignored
  BOOST_TEST(sender.pending() == 0u);
}

BOOST_AUTO_TEST_CASE(https_notice_urls_verify_the_server) {
  // beckond's own listener over TLS stands in for an HTTPS application
  // server: it answers DeviceRegistered with a fault, which proves that the
  // call went through TLS.
  beckon::SystemClock clock;
  ThreadExecutor executor;
  AnsweringSender notifySender{executor};
  beckon::Core core{clock, notifySender};
  beckon::ContactService service{core, executor};
  const TestPki& pki = testPki();
  beckon::soap::SoapConfig sc;
  sc.host = "127.0.0.1";
  sc.port = 0;
  sc.tls = beckon::soap::SoapTls{pki.path("server.pem"), pki.path("server.key"), "",
                                 beckon::soap::SoapTls::ClientCerts::None};
  beckon::soap::SoapServer tlsServer(sc, service);
  tlsServer.start();
  const std::string url = "https://127.0.0.1:" + std::to_string(tlsServer.port()) + "/";

  for (bool rightCa : {true, false}) {
    NoticeConfig c = config({{"tls", url, {beckon::kDefaultPackage}}});
    c.attempts = 1;
    c.caFile = rightCa ? pki.path("ca.pem") : pki.path("rogue.pem");
    NoticeSender sender(c);
    sender.start();
    sender.deviceRegistered(notice());
    BOOST_REQUIRE(waitFor([&] { return sender.counters().failed == 1; }));
    sender.stop();
  }
  // Which failure is which is in the log; the server saw exactly one
  // request (the verified one): the handshake with the wrong CA failed.
  tlsServer.stop();
}

BOOST_AUTO_TEST_CASE(bad_notice_urls_are_refused) {
  BOOST_CHECK_THROW(NoticeSender(config({{"crm", "ftp://x/", {}}})), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
