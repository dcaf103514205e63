// SOAP requests into beckond's SOAP side, for real: a SoapServer
// (soap/soap_server.h) on a loopback port in this process, in front of a
// ContactService and a Core with three registered devices. The input is
// what a client sends on one HTTP connection (request line, headers, SOAP
// 1.1 or 1.2 envelope; several requests when it keeps the connection alive):
// gSOAP parses it, soap/mapping turns it into ContactMeParams, validate()
// and the policy judge it, the core takes it.
//
// The core's thread is played by the harness: work posted to it runs at
// once, under a lock, and then the core's clock jumps forward (a week, then
// an hour: every queued request expires and every ended one is cleaned up)
// and back, so that no call waits and nothing accumulates.
//
// Must hold: beckond answers every connection within 20 s with an HTTP
// response, or closes it without one (gSOAP does for some garbage); never
// "internal error" (an exception the service did not expect); and after
// each request no contact request is left in the core.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>

#include "answering_sender.h"
#include "core.h"
#include "fuzz.h"
#include "service.h"
#include "soap_server.h"

using beckon::fuzz::AnsweringSender;
using beckon::fuzz::printable;

namespace {

// The server reads with a 2 s timeout and sees EOF at once; 20 s leaves room
// for a machine busy with other work.
constexpr int kAnswerTimeoutMs = 20000;

// The core's thread, played inline.
class InlineExecutor final : public beckon::Executor {
 public:
  InlineExecutor(beckon::ManualClock& clock, beckon::Core& core) : clock_(clock), core_(core) {}
  bool post(std::function<void()> work) override {
    std::lock_guard lock(mutex_);
    work();
    const auto week = std::chrono::seconds(beckon::kMaxQueueSeconds + 1);
    const auto keep = std::chrono::duration_cast<std::chrono::milliseconds>(
        core_.config().keepEnded + std::chrono::seconds(1));
    clock_.advance(week);
    core_.tick();  // queued requests expire
    clock_.advance(keep);
    core_.tick();  // ended requests go
    const std::size_t left = core_.requestCount();
    clock_.advance(-(week + keep));
    FUZZ_CHECK(left == 0, "%zu contact requests left in the core", left);
    return true;
  }
  void withCore(const std::function<void()>& f) {
    std::lock_guard lock(mutex_);
    f();
  }

 private:
  std::mutex mutex_;
  beckon::ManualClock& clock_;
  beckon::Core& core_;
};

struct World {
  beckon::ManualClock clock;
  AnsweringSender sender;
  beckon::Core core{clock, sender};
  InlineExecutor executor{clock, core};
  beckon::ContactService service{core, executor};
  std::unique_ptr<beckon::soap::SoapServer> soap;
  sockaddr_in address{};

  World() {
    // Devices that outlive every jump of the clock: an instance id with a
    // MAC (version 1 UUID), a urn:dev:mac device with XML bodies, and one
    // registered over TCP with a GRUU.
    executor.withCore([this] {
      const auto forever = clock.now() + std::chrono::hours(24 * 365 * 100);
      auto add = [&](const char* aor, const char* instance, beckon::BodyFormat format,
                     beckon::Transport transport) {
        beckon::Binding b;
        b.aor = aor;
        b.contact = std::string(aor) + ";transport=udp";
        b.contact.replace(b.contact.find('@') + 1, b.contact.find(';') - b.contact.find('@') - 1,
                          "127.0.0.2:5999");
        b.instance = instance;
        b.transport = transport;
        b.sourceHost = "127.0.0.1";
        b.sourcePort = 5062;
        b.expires = forever;
        b.callId = "fuzz";
        b.cseq = 1;
        b.packages = {{beckon::kDefaultPackage, format, true}};
        core.upsertBinding(std::move(b));
      };
      add("sip:7546658000@example.com", "urn:uuid:00000000-0000-1000-8000-00a0c91e6bf6",
          beckon::BodyFormat::Text, beckon::Transport::Udp);
      add("sip:7546658001@example.com", "urn:dev:mac:0004f2a1b2c3", beckon::BodyFormat::Xml,
          beckon::Transport::Udp);
      add("sip:7546658002@example.com", "urn:uuid:f81d4fae-7dec-41d0-a765-00a0c91e6bf6",
          beckon::BodyFormat::Text, beckon::Transport::Tcp);
    });
    beckon::soap::SoapConfig config;
    config.host = "127.0.0.1";
    config.port = 0;
    config.workers = 1;
    config.recvTimeoutMs = 2000;
    config.sendTimeoutMs = 2000;
    soap = std::make_unique<beckon::soap::SoapServer>(config, service);
    soap->start();
    address.sin_family = AF_INET;
    address.sin_port = htons(soap->port());
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
};

World* world = nullptr;

// One connection: sends the input, closes the sending side, reads to EOF.
std::string exchange(std::string_view request) {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  FUZZ_CHECK(s >= 0, "socket");
  // Closed with RST (no TIME_WAIT here): hundreds of connections a second
  // would otherwise run out of local ports within a minute.
  const linger abort{1, 0};
  ::setsockopt(s, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
  int error =
      ::connect(s, reinterpret_cast<const sockaddr*>(&world->address), sizeof world->address) == 0
          ? 0
          : errno;
  if (error == EINTR) {  // a signal (libFuzzer's timer): the connection goes on
    socklen_t length = sizeof error;
    if (!beckon::fuzz::waitFor(s, POLLOUT, kAnswerTimeoutMs) ||
        ::getsockopt(s, SOL_SOCKET, SO_ERROR, &error, &length) != 0)
      error = ETIMEDOUT;
  }
  FUZZ_CHECK(error == 0, "cannot connect to beckond's SOAP listener: %s", std::strerror(error));
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(s, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // it may close early (413): that is its right
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(s, SHUT_WR);
  std::string answer;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kAnswerTimeoutMs);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    FUZZ_CHECK(beckon::fuzz::waitFor(s, POLLIN, left), "no answer and no close within %d ms",
               kAnswerTimeoutMs);
    char buf[16384];
    const ssize_t n = ::recv(s, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    answer.append(buf, static_cast<std::size_t>(n));
  }
  ::close(s);
  return answer;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // BECKON_FUZZ_LOG=1: beckond's log on stderr, to see what an input does.
  spdlog::set_level(std::getenv("BECKON_FUZZ_LOG") ? spdlog::level::debug : spdlog::level::off);
  world = new World;  // lives until the process ends
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string answer = exchange(beckon::fuzz::asText(data, size));
  FUZZ_CHECK(answer.empty() || answer.starts_with("HTTP/1."), "not an HTTP answer: %s",
             printable(answer.substr(0, 200)).c_str());
  // What SoapServer answers when a call ended on an exception it did not
  // expect (the request's own text may hold "internal error" anywhere else).
  FUZZ_CHECK(answer.find("<cm:message>internal error</cm:message>") == std::string::npos,
             "the service failed on an unexpected exception: %s",
             printable(answer.substr(0, 2000)).c_str());
  return 0;
}
