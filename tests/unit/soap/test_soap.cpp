#define BOOST_TEST_MODULE soap
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "core.h"
#include "service.h"
#include "soapContactMeProxy.h"
#include "soap_server.h"

namespace {

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

struct Fixture {
  beckon::SystemClock clock;
  ThreadExecutor executor;
  AnsweringSender sender{executor};
  beckon::Core core{clock, sender};
  beckon::ContactService service{core, executor};
  beckon::soap::SoapServer server{makeConfig(), service};
  std::string url;

  static beckon::soap::SoapConfig makeConfig() {
    beckon::soap::SoapConfig c;
    c.host = "127.0.0.1";
    c.port = 0;
    c.workers = 2;
    c.maxBodyBytes = 4096;
    return c;
  }

  Fixture() {
    executor.call([this] {
      beckon::Binding b;
      b.aor = "sip:7546658000@example.com";
      b.contact = "sip:7546658000@127.0.0.2:5999";
      b.transport = beckon::Transport::Udp;
      b.sourceHost = "127.0.0.2";
      b.sourcePort = 5999;
      b.expires = clock.now() + std::chrono::hours(1);
      b.packages.push_back({beckon::kDefaultPackage, beckon::BodyFormat::Text, true});
      core.upsertBinding(b);
    });
    server.start();
    url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
  }
  ~Fixture() { server.stop(); }
};

// One HTTP exchange over a fresh connection; returns what the server sent
// until it closed the connection or `timeout` passed.
std::string httpExchange(std::uint16_t port, const std::string& request,
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

std::string post(std::uint16_t port, const std::string& body, const std::string& contentType) {
  return httpExchange(
      port,
      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: " + contentType +
          "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
}

int callContactMe(const std::string& url, const std::string& device, const std::string& requestId,
                  ContactMeProxy& proxy, cm__ContactStatus& status) {
  _cm__ContactMe request;
  request.deviceId = device;
  request.requestId = requestId;
  std::string server = "as.example.com:8443";
  request.server = &server;
  return proxy.ContactMe(url.c_str(), nullptr, &request, status);
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(contact_me_round_trip_is_delivered, Fixture) {
  for (bool async : {false, true}) {
    executor.call([&] { sender.async = async; });
    ContactMeProxy proxy(SOAP_IO_KEEPALIVE | SOAP_C_UTFSTRING);
    cm__ContactStatus status;
    const std::string id = async ? "r-async" : "r-sync";
    BOOST_REQUIRE_EQUAL(callContactMe(url, "7546658000", id, proxy, status), SOAP_OK);
    BOOST_TEST(status.requestId == id);
    BOOST_TEST((status.state == cm__RequestState::delivered));
    BOOST_REQUIRE_EQUAL(status.delivery.size(), 1u);
    BOOST_TEST(status.delivery[0].contact == "sip:7546658000@127.0.0.2:5999");
    BOOST_TEST(status.delivery[0].transport == "udp");
    BOOST_TEST(status.delivery[0].sipStatus == 200);
    BOOST_TEST(status.delivery[0].at > 0);
    proxy.destroy();
  }
}

BOOST_FIXTURE_TEST_CASE(unknown_device_is_a_fault_with_detail, Fixture) {
  ContactMeProxy proxy(SOAP_IO_KEEPALIVE | SOAP_C_UTFSTRING);
  cm__ContactStatus status;
  const int rc = callContactMe(url, "sip:nobody@example.com", "r-1", proxy, status);
  BOOST_TEST(rc == SOAP_CLI_FAULT);  // a sender fault (stack.md pitfall 4)
  BOOST_REQUIRE(proxy.soap->fault);
  SOAP_ENV__Detail* detail = proxy.soap->fault->detail;
  BOOST_REQUIRE(detail);
  BOOST_REQUIRE(detail->cm__fault);
  BOOST_TEST((detail->cm__fault->code == cm__FaultCode::UnknownDevice));
  BOOST_TEST(!detail->cm__fault->message.empty());
  BOOST_TEST(std::string(*soap_faultstring(proxy.soap)) == detail->cm__fault->message);
  proxy.destroy();
}

BOOST_FIXTURE_TEST_CASE(what_gsoap_rejects_is_an_invalid_argument_fault, Fixture) {
  // No deviceId: the strict deserializer refuses it.
  const std::string response = post(
      server.port(),
      "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">"
      "<s:Body><ContactMe xmlns=\"urn:beckon:contact-me:1\"><requestId>r</requestId>"
      "</ContactMe></s:Body></s:Envelope>",
      "text/xml; charset=utf-8");
  BOOST_TEST(response.rfind("HTTP/1.1 500", 0) == 0, response);
  BOOST_TEST(response.find("Client</faultcode>") != std::string::npos, response);
  BOOST_TEST(response.find("<cm:code>InvalidArgument</cm:code>") != std::string::npos, response);
}

BOOST_FIXTURE_TEST_CASE(soap12_requests_get_soap12_answers, Fixture) {
  const std::string response =
      post(server.port(),
           "<?xml version=\"1.0\"?><e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\">"
           "<e:Body><ContactMe xmlns=\"urn:beckon:contact-me:1\"><deviceId>7546658000</deviceId>"
           "<requestId>r12</requestId></ContactMe></e:Body></e:Envelope>",
           "application/soap+xml; charset=utf-8");
  BOOST_TEST(response.rfind("HTTP/1.1 200", 0) == 0, response);
  BOOST_TEST(response.find("Content-Type: application/soap+xml") != std::string::npos, response);
  BOOST_TEST(response.find("http://www.w3.org/2003/05/soap-envelope") != std::string::npos);
  BOOST_TEST(response.find("<cm:state>delivered</cm:state>") != std::string::npos, response);

  // A SOAP 1.2 fault: Code/Value Sender and our detail.
  const std::string fault =
      post(server.port(),
           "<?xml version=\"1.0\"?><e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\">"
           "<e:Body><ContactMe xmlns=\"urn:beckon:contact-me:1\"><deviceId>nobody</deviceId>"
           "<requestId>r12f</requestId></ContactMe></e:Body></e:Envelope>",
           "application/soap+xml; charset=utf-8");
  BOOST_TEST(fault.find("<SOAP-ENV:Value>SOAP-ENV:Sender</SOAP-ENV:Value>") != std::string::npos,
             fault);
  BOOST_TEST(fault.find("<SOAP-ENV:Detail><cm:fault><cm:code>UnknownDevice</cm:code>") !=
                 std::string::npos,
             fault);
}

BOOST_FIXTURE_TEST_CASE(oversized_body_gets_413, Fixture) {
  // Only the header is sent: the answer must come before the body is read.
  const std::string response = httpExchange(server.port(),
                                            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                                            "text/xml\r\nContent-Length: 100000\r\n\r\n");
  BOOST_TEST(response.rfind("HTTP/1.1 413", 0) == 0, response);
}

BOOST_FIXTURE_TEST_CASE(wsdl_is_served_with_our_address, Fixture) {
  const std::string host = "127.0.0.1:" + std::to_string(server.port());
  for (const char* path : {"/contact-me.wsdl", "/?wsdl"}) {
    const std::string response =
        httpExchange(server.port(), std::string("GET ") + path + " HTTP/1.1\r\nHost: " + host +
                                        "\r\nConnection: close\r\n\r\n");
    BOOST_TEST(response.rfind("HTTP/1.1 200", 0) == 0, response.substr(0, 200));
    BOOST_TEST(response.find("xml") != std::string::npos);
    BOOST_TEST(response.find("<SOAP:address location=\"http://" + host + "/\"/>") !=
               std::string::npos);
    BOOST_TEST(response.find("<SOAP12:address location=\"http://" + host + "/\"/>") !=
               std::string::npos);
    BOOST_TEST(response.find("localhost:8080") == std::string::npos);
  }
  const std::string missing = httpExchange(
      server.port(), "GET /nothing HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n");
  BOOST_TEST(missing.rfind("HTTP/1.1 404", 0) == 0, missing.substr(0, 200));
}

BOOST_FIXTURE_TEST_CASE(added_get_paths_are_served, Fixture) {
  // addGet before start(): a second server on its own port.
  beckon::soap::SoapServer other(makeConfig(), service);
  other.addGet("/healthz", [] { return beckon::soap::HttpResponse{200, "text/plain", "ok\n"}; });
  other.addGet("/down", [] { return beckon::soap::HttpResponse{503, "text/plain", "down\n"}; });
  other.start();
  const std::string ok =
      httpExchange(other.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  BOOST_TEST(ok.rfind("HTTP/1.1 200", 0) == 0, ok);
  BOOST_TEST(ok.find("\r\n\r\nok\n") != std::string::npos, ok);
  const std::string down =
      httpExchange(other.port(), "GET /down HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  BOOST_TEST(down.rfind("HTTP/1.1 503", 0) == 0, down);
  other.stop();
}

BOOST_FIXTURE_TEST_CASE(stop_does_not_wait_for_idle_keep_alive_connections, Fixture) {
  ContactMeProxy proxy(SOAP_IO_KEEPALIVE | SOAP_C_UTFSTRING);
  cm__ContactStatus status;
  BOOST_REQUIRE_EQUAL(callContactMe(url, "7546658000", "r-ka", proxy, status), SOAP_OK);
  // The proxy keeps its connection open; the server's worker now waits on it.
  const auto started = std::chrono::steady_clock::now();
  server.stop();
  BOOST_TEST((std::chrono::steady_clock::now() - started < 2s));
  proxy.destroy();
}

BOOST_AUTO_TEST_CASE(bind_failure_names_the_address) {
  beckon::SystemClock clock;
  ThreadExecutor executor;
  AnsweringSender sender{executor};
  beckon::Core core{clock, sender};
  beckon::ContactService service{core, executor};
  beckon::soap::SoapConfig c;
  c.host = "127.0.0.1";
  c.port = 0;
  beckon::soap::SoapServer first(c, service);
  first.start();
  c.port = first.port();
  beckon::soap::SoapServer second(c, service);
  try {
    second.start();
    BOOST_FAIL("second bind succeeded");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string(e.what()).find("127.0.0.1:" + std::to_string(c.port)) !=
               std::string::npos);
  }
}
