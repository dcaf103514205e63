// SIP messages into beckond's SIP side, for real: two SipServers (sip/server.h)
// run in this process on UDP loopback ports, each with its own Core, and the
// input is sent to both as datagrams. Sofia parses them (msg_extract, nta's
// checks) and hands what it accepts to our onMessage: the registrar (device
// ids, Accept and the body format, Contact parameters +sip.instance, reg-id,
// expires, q, Path, GRUU, outbound), the event server (Event, Accept,
// dialogs), the digest authorizer, and the proxy (everything else: INVITE,
// ACK, CANCEL, BYE, OPTIONS for users, unknown methods; forwarded requests
// go to the bindings the inputs made, 127.0.0.2 in the seeds, where nothing
// answers). One server has no authentication (so requests reach the
// registrar), the other has [sip.auth], a domain, and a proxy that
// authenticates callers and has a hunt group (sip:hunt@example.com).
//
// Input: one or more messages separated by "\r\n\x1e\r\n"; in each message
// after the first, "$TAG" becomes the To tag of that server's last answer
// (so a SUBSCRIBE can refresh the dialog the one before it made).
//
// Must hold, after every message: the server still answers (an OPTIONS for
// the server itself, no user part, sent after it gets its 200 within 5 s:
// nothing a message does stalls or kills the SIP thread; an OPTIONS for a
// user would go to the proxy); every datagram it sent us is a SIP response
// (or a STUN one, to a STUN request), or a request its proxy forwarded to a
// binding at our address; and once
// every binding has expired (the servers' clocks are moved 48 h on and back)
// the binding table is empty: nothing is lost in its indexes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <future>
#include <memory>
#include <random>

#include "answering_sender.h"
#include "core.h"
#include "fuzz.h"
#include "server.h"

using beckon::fuzz::AnsweringSender;
using beckon::fuzz::printable;

namespace {

constexpr std::string_view kNext = "\r\n\x1e\r\n";
constexpr int kAnswerTimeoutMs = 5000;

struct Server {
  beckon::ManualClock clock;  // read and moved on the SIP thread only
  AnsweringSender sender;
  std::unique_ptr<beckon::Core> core;
  std::unique_ptr<beckon::sip::SipServer> sip;
  sockaddr_in address{};
  int socket = -1;  // ours, toward it
  std::string lastTag;

  explicit Server(bool auth) {
    beckon::sip::SipConfig config;
    config.listen = {"udp:127.0.0.1:0"};
    config.udpReceiveBuffer = 1 << 20;
    if (auth) {
      beckon::sip::DigestConfig d;
      d.realm = "example.com";
      d.users.push_back({"7546658000",
                         beckon::sip::digestHa1(beckon::sip::DigestAlgorithm::Md5, "7546658000",
                                                "example.com", "secret"),
                         ""});
      config.auth.auth = d;
      config.registrar.domain = "example.com";
      // Its proxy authenticates callers of example.com and has a hunt group
      // with voicemail (forking.h), both reached by inputs for these AORs.
      config.proxy.authenticate = true;
      beckon::sip::ProxyUser hunt;
      hunt.aor = "sip:hunt@example.com";
      hunt.fork = beckon::sip::ForkMode::Sequential;
      hunt.targets = {"sip:7546658000@example.com", "sip:7546658001@example.com"};
      hunt.ring = std::chrono::seconds(1);
      hunt.voicemail = "sip:vm@127.0.0.2:5998";
      config.proxy.users.push_back(hunt);
    }
    sip = std::make_unique<beckon::sip::SipServer>(config);
    core = std::make_unique<beckon::Core>(clock, sender);
    sip->start(*core, clock);
    // The port the kernel chose, from the Contact beckond puts in its NOTIFYs.
    beckon::Binding probe;
    probe.sourceHost = "127.0.0.1";
    const std::string contact =
        dynamic_cast<beckon::sip::NtaNotifySender&>(sip->notifySender()).contactFor(probe);
    const auto colon = contact.rfind(':', contact.find(";transport"));
    const int port = std::atoi(contact.c_str() + colon + 1);
    FUZZ_CHECK(port > 0, "no port in %s", contact.c_str());
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socket = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    FUZZ_CHECK(
        socket >= 0 && ::bind(socket, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0,
        "cannot bind the harness socket");
  }
  ~Server() {
    sip->stop();
    sip.reset();
    core.reset();
    ::close(socket);
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int localPort() const {
    sockaddr_in local{};
    socklen_t length = sizeof local;
    getsockname(socket, reinterpret_cast<sockaddr*>(&local), &length);
    return ntohs(local.sin_port);
  }

  void send(std::string_view datagram) const {
    if (datagram.empty() || datagram.size() > 65000) return;
    (void)::sendto(socket, datagram.data(), datagram.size(), 0,
                   reinterpret_cast<const sockaddr*>(&address), sizeof address);
  }

  // Sends an OPTIONS and reads until its 200: the answers before it are the
  // answers to what was sent before it. A datagram may be lost (this runs
  // beside other work on a loaded machine): up to three OPTIONS, then the
  // SIP thread is asked directly whether it still runs.
  std::vector<std::string> answersUntilPing(unsigned n) {
    // Unguessable: the fuzzer learns what we compare with, and a message
    // of its own taken for the answer to the OPTIONS would desynchronise us.
    static const std::string secret = std::to_string(std::random_device{}());
    const std::string tag = "-ping-" + secret + "-";
    std::vector<std::string> answers;
    for (int attempt = 0; attempt < 3; ++attempt) {
      const std::string id = tag + std::to_string(n) + "-" + std::to_string(attempt);
      send("OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:" +
           std::to_string(localPort()) + ";branch=z9hG4bK" + id +
           "\r\nMax-Forwards: 70\r\nFrom: <sip:fuzz@fuzz.invalid>;tag=f\r\n"
           "To: <sip:127.0.0.1>\r\nCall-ID: " +
           id + "@fuzz.invalid\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(kAnswerTimeoutMs);
      for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                              deadline - std::chrono::steady_clock::now())
                              .count();
        if (!beckon::fuzz::waitFor(socket, POLLIN, left)) break;
        char buf[65536];
        const ssize_t got = ::recv(socket, buf, sizeof buf, 0);
        if (got <= 0) continue;
        std::string answer(buf, static_cast<std::size_t>(got));
        if (answer.find(id + "@fuzz.invalid") != std::string::npos) {
          FUZZ_CHECK(answer.starts_with("SIP/2.0 200 "), "OPTIONS answered %s",
                     printable(answer.substr(0, 40)).c_str());
          return answers;
        }
        if (answer.find(tag) == std::string::npos) answers.push_back(std::move(answer));
      }
    }
    auto alive = std::make_shared<std::promise<void>>();
    auto answered = alive->get_future();
    sip->post([alive] { alive->set_value(); });
    const bool running = answered.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
    FUZZ_CHECK(false, "beckond's SIP thread answered none of 3 OPTIONS in %d ms each (%s)",
               kAnswerTimeoutMs, running ? "it runs, but does not answer" : "it is blocked");
    return answers;
  }

  // On the SIP thread: every binding expires; none may be left behind.
  void expireAll() {
    std::promise<std::size_t> left;
    auto result = left.get_future();
    const bool posted = sip->post([this, &left] {
      clock.advance(std::chrono::hours(48));
      core->tick();
      const std::size_t n = core->bindings().size();
      clock.advance(-std::chrono::hours(48));
      left.set_value(n);
    });
    FUZZ_CHECK(posted, "the SIP thread takes no work");
    FUZZ_CHECK(
        result.wait_for(std::chrono::milliseconds(kAnswerTimeoutMs)) == std::future_status::ready,
        "the SIP thread did not run the expiry");
    const std::size_t n = result.get();
    FUZZ_CHECK(n == 0, "%zu bindings outlived their expiry", n);
  }
};

// The To tag of an answer ("To:" or "t:" header, ";tag=").
std::string toTag(const std::string& answer) {
  for (const char* name : {"\r\nTo:", "\r\nt:", "\r\nTO:", "\r\nto:"}) {
    const std::size_t at = answer.find(name);
    if (at == std::string::npos) continue;
    const std::size_t end = answer.find("\r\n", at + 2);
    const std::string header = answer.substr(at, end - at);
    const std::size_t tag = header.find(";tag=");
    if (tag == std::string::npos) return "";
    return header.substr(tag + 5, header.find_first_of(";, \t", tag + 5) - tag - 5);
  }
  return "";
}

bool isResponse(const std::string& m) {
  return m.size() > 12 && m.starts_with("SIP/2.0 ") && m[8] >= '1' && m[8] <= '6';
}

// A request the proxy forwarded (a binding the input made points at us):
// "METHOD uri SIP/2.0" on its first line.
bool isRequest(const std::string& m) {
  const std::size_t eol = m.find("\r\n");
  if (eol == std::string::npos) return false;
  const std::string_view line(m.data(), eol);
  const std::size_t sp = line.find(' ');
  return sp > 0 && sp != std::string_view::npos && line.ends_with(" SIP/2.0") &&
         line.find(' ', sp + 1) + 8 == line.size();
}

struct World {
  Server open{false};
  Server guarded{true};
  unsigned pings = 0;
};

World* world = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // BECKON_FUZZ_LOG=1: beckond's log on stderr, to see what an input does.
  spdlog::set_level(std::getenv("BECKON_FUZZ_LOG") ? spdlog::level::debug : spdlog::level::off);
  su_init();
  world = new World;  // lives until the process ends
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = beckon::fuzz::asText(data, size);
  std::size_t at = 0;
  for (unsigned k = 0; at <= input.size() && k < 8; ++k) {
    std::size_t end = input.find(kNext, at);
    if (end == std::string_view::npos) end = input.size();
    const std::string_view message = input.substr(at, end - at);
    at = end + kNext.size();
    for (Server* s : {&world->open, &world->guarded}) {
      std::string datagram(message);
      if (k > 0) {
        // One pass: a tag may itself hold "$TAG".
        for (std::size_t t = 0; (t = datagram.find("$TAG", t)) != std::string::npos;
             t += s->lastTag.size())
          datagram.replace(t, 4, s->lastTag);
      }
      s->send(datagram);
      for (const std::string& answer : s->answersUntilPing(++world->pings)) {
        // beckond answers STUN Binding requests on its UDP ports (the keep-alive
        // of RFC 5626 4.4.2, sip/stun.h): only ever a Binding success response
        // with one XOR-MAPPED-ADDRESS (IPv4: 32 bytes), nothing else STUN.
        if (!answer.empty() && answer[0] == 0x01) {
          FUZZ_CHECK(answer.size() == 32 && answer[1] == 0x01,
                     "beckond sent a STUN message that is not a Binding success: %s",
                     printable(answer.substr(0, 64)).c_str());
          continue;
        }
        FUZZ_CHECK(isResponse(answer) || isRequest(answer),
                   "beckond sent something that is not SIP: %s",
                   printable(answer.substr(0, 200)).c_str());
        if (const std::string tag = toTag(answer); !tag.empty()) s->lastTag = tag;
      }
    }
  }
  world->open.expireAll();
  world->guarded.expireAll();
  return 0;
}
