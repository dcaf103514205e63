// The SOAP listener's insides, shared by soap_server.cpp (the requests) and
// soap_connections.cpp (accepting, the waiting room, the workers' loop).
#pragma once

#include "soap_server.h"

#include "boundary.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

#include "contact_me_wsdl.h"
#include "listener_util.h"
#include "logfmt.h"
#include "mapping.h"
#include "metrics.h"
#include "service.h"
#include "soapContactMeService.h"
#include "thread_name.h"
#include "waiting_room.h"
#include "xml_text.h"

namespace beckon::soap {

namespace detail {

// How often the accept loop looks at the stop flag.
constexpr int kAcceptTimeoutUs = 200'000;
// The largest HTTP header taken (431 past it).
constexpr std::size_t kHeaderAllowance = 16 * 1024;
constexpr std::size_t kMaxStringLength = 8192;
constexpr int kMaxXmlDepth = 32;
constexpr std::size_t kMaxOccurs = 64;

// gSOAP: positive timeouts are seconds, negative ones microseconds.
inline int gsoapTimeout(int ms) {
  return ms <= 0 ? 0 : -ms * 1000;
}

// The namespace table takes SOAP 1.1 and, as alternative, SOAP 1.2 envelopes.
// gSOAP notices a 1.2 envelope (soap->version = 2), but the generated
// ContactMeService::dispatch() re-installs the namespace table, which resets
// soap->version to 1: the answer would then be a 1.2 envelope with text/xml
// and 1.1 fault elements. Called after dispatch has parsed the request, this
// sets it back from the envelope namespace the request used.
inline void answerInRequestVersion(struct ::soap* soap) {
  static constexpr const char* kSoap12Envelope = "http://www.w3.org/2003/05/soap-envelope";
  const Namespace* table = soap->local_namespaces;
  if (table && table[0].id && table[0].out && !std::strcmp(table[0].out, kSoap12Envelope)) {
    soap->version = 2;
  }
}

}  // namespace detail
using namespace detail;

// One worker thread: its own gSOAP context and the connection it serves.
struct Worker {
  SoapServer::Impl* server = nullptr;
  ContactMeService* service = nullptr;  // a copy of the master: one struct soap per thread
  std::thread thread;
  SOAP_SOCKET current = SOAP_INVALID_SOCKET;  // guarded by Impl::mutex, for stop()
  // Of the connection / request being served:
  bool loopbackPeer = false;
  std::string peer;
  PeerCertificate certificate;  // verified TLS client certificate, if any
  std::string hostHeader;
  bool gotGet = false;
  std::string source;      // counted in Impl::connections while served
  bool servedOne = false;  // a request of this connection was answered (keep-alive)
  // [limits] of the request being read: its header and body bytes, and the
  // time by which it must have come whole (soap_request_timeout_ms).
  enum class Reading { Idle, Header, Body } reading = Reading::Idle;
  std::size_t headerBytes = 0;
  std::size_t bodyBytes = 0;
  bool contentLength = false;  // the Content-Length check in parseHeader bounds the body
  std::chrono::steady_clock::time_point deadline;
  std::chrono::steady_clock::time_point headerDeadline;  // limits.soap_header_timeout_ms
  int refusal = 0;         // 413, 431 or 408 once the request is cut off
  bool headerCut = false;  // the 408 is limits.soap_header_timeout_ms's
  // The request's body as gSOAP reads it (chunks joined, inflated), kept for
  // checkXmlText(): gSOAP's own reading no longer shows what its bytes were
  // (soap/xml_text.h). Bounded by gSOAP's recv_maxlength.
  std::string body;
  std::optional<std::optional<XmlTextProblem>> bodyChecked;
  void startRequest() {
    reading = Reading::Idle;
    headerBytes = bodyBytes = 0;
    contentLength = false;
    refusal = 0;
    headerCut = false;
    body.clear();
    bodyChecked.reset();
  }
  void keepBody(struct ::soap* soap, const char* data, std::size_t length) {
    const std::size_t room =
        soap->recv_maxlength > body.size() ? soap->recv_maxlength - body.size() : 0;
    body.append(data, std::min(length, room));
  }
  // The first problem of the request's text, checked once the request is read.
  const std::optional<XmlTextProblem>& textProblem() {
    if (!bodyChecked) bodyChecked = checkXmlText(body);
    return *bodyChecked;
  }
};

struct SoapServer::Impl {
  Impl(SoapConfig c, ContactService& s)
      : config(std::move(c)),
        service(s),
        authenticator(std::make_shared<const Authenticator>(config.identities)) {}

  SoapConfig config;
  ContactService& service;
  Metrics* metrics = nullptr;
  mutable std::mutex authMutex;  // guards the pointer (SIGHUP replaces it)
  std::shared_ptr<const Authenticator> authenticator;
  std::shared_ptr<const Authenticator> currentAuthenticator() const {
    std::lock_guard lock(authMutex);
    return authenticator;
  }
  std::map<std::string, GetHandler, std::less<>> gets;
  std::unique_ptr<ContactMeService> master;
  int (*defaultParseHeader)(struct ::soap*, const char*, const char*) = nullptr;
  int (*defaultParse)(struct ::soap*) = nullptr;
  int (*defaultPrepareReceive)(struct ::soap*, const char*, std::size_t) = nullptr;
  std::size_t (*defaultRecv)(struct ::soap*, char*, std::size_t) = nullptr;
  std::uint16_t boundPort = 0;
  std::thread acceptThread;
  std::vector<std::unique_ptr<Worker>> workers;

  std::mutex mutex;
  std::condition_variable wake;
  std::deque<Accepted> queue;
  bool stopping = false;
  bool running = false;
  // [limits] soap_connections*: queued and served connections (under mutex).
  std::optional<ConnectionCount> connections;
  Throttle refusalLog;  // a flood must not flood the log
  // New connections until their header has come (accept thread only).
  std::optional<WaitingRoom> room;
  Throttle waitLog;
  bool othersWaiting() {
    std::lock_guard lock(mutex);
    return !queue.empty();
  }
  void enqueue(Accepted a);  // under mutex

  void acceptLoop();
  void workerLoop(Worker& w);
  void serveConnection(Worker& w);
  void limitRefused(Metrics::Limit l) const {
    if (metrics) metrics->limitRefused(l);
  }
  // Answers a request cut off by [limits] (w.refusal) and says so in the log.
  void refuseRequest(Worker& w);
  bool acceptTls(Worker& w);
  Caller authenticate(Worker& w, const char* operation);
  // Runs one operation: authenticates, calls `work(caller)` (which fills the
  // answer and returns a summary for the log), and turns a Fault into a SOAP
  // Fault with our detail. `what` names the request in the log.
  template <class Work>
  int call(Worker& w, Metrics::SoapOperation op, const std::string& what, Work work);
  int contactMe(Worker& w, _cm__ContactMe* request, cm__ContactStatus& status);
  int getContactRequest(Worker& w, _cm__GetContactRequest* request, cm__ContactStatus& status);
  int cancelContactRequest(Worker& w, _cm__CancelContactRequest* request,
                           cm__ContactStatus& status);
  int getDevice(Worker& w, _cm__GetDevice* request, cm__Device& device);
  int get(Worker& w);
};

}  // namespace beckon::soap
