#include "server.h"

#include "boundary.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <spdlog/spdlog.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <cstdarg>
#include <cstring>
#include <stdexcept>

#include "metrics.h"
#include "name_lookups.h"
#include "stun.h"
#include "thread_name.h"
#include "tls_policy.h"

namespace beckon::sip {

namespace {

constexpr su_duration_t kTickMs = 100;
constexpr const char* kAllow = "REGISTER, SUBSCRIBE, OPTIONS";

// Sofia writes its log in pieces; each thread gathers a line, then spdlog gets it.
void sofiaLog(void*, char const* fmt, va_list ap) {
  thread_local std::string line;
  char buf[1024];
  vsnprintf(buf, sizeof buf, fmt, ap);
  line += buf;
  if (!line.empty() && line.back() == '\n') {
    line.pop_back();
    spdlog::debug("sofia: {}", line);
    line.clear();
  }
}

// A private directory with agent.pem (key, then certificate) and cafile.pem,
// removed when it goes out of scope.
class CertificateDir {
 public:
  explicit CertificateDir(const std::optional<SipTls>& tls) {
    if (!tls) return;
    char dir[] = "/tmp/beckond-tls-XXXXXX";
    if (!mkdtemp(dir))
      throw std::runtime_error(std::string("sip.tls: cannot make a directory: ") +
                               std::strerror(errno));
    dir_ = dir;
    auto copy = [](const std::string& from, std::ofstream& to, const std::string& key) {
      std::ifstream in(from, std::ios::binary);
      if (!in) throw std::runtime_error("sip.tls." + key + ": '" + from + "' cannot be read");
      to << in.rdbuf() << "\n";
    };
    const mode_t mask = ::umask(077);  // the key is readable by us only
    {
      std::ofstream agent(dir_ + "/agent.pem", std::ios::binary);
      copy(tls->key, agent, "key");
      copy(tls->cert, agent, "cert");
      std::ofstream ca(dir_ + "/cafile.pem", std::ios::binary);
      copy(tls->ca.empty() ? tls->cert : tls->ca, ca, tls->ca.empty() ? "cert" : "ca");
    }
    ::umask(mask);
  }
  ~CertificateDir() {
    if (dir_.empty()) return;
    std::filesystem::remove_all(dir_);
  }
  CertificateDir(const CertificateDir&) = delete;
  CertificateDir& operator=(const CertificateDir&) = delete;
  const char* path() const { return dir_.empty() ? nullptr : dir_.c_str(); }

 private:
  std::string dir_;
};

// [limits] sip_max_headers: a request with more header field values is
// answered 513 Message Too Large (RFC 3261 21.5.8) and goes no further.
bool tooManyHeaders(msg_t* msg, unsigned limit, Metrics* metrics) {
  unsigned count = 0;
  for (msg_header_t* h = *msg_chain_head(msg); h; h = h->sh_succ) {
    const int kind = h->sh_class->hc_hash;
    if (kind != sip_request_hash && kind != sip_separator_hash && kind != sip_payload_hash) ++count;
  }
  if (count <= limit) return false;
  if (metrics) metrics->limitRefused(Metrics::Limit::SipMaxHeaders);
  spdlog::warn("sip: {} header fields in a request, limits.sip_max_headers {}: 513", count, limit);
  return true;
}

std::string tooManyHeadersPhrase(unsigned limit) {
  return "Message Too Large (more than " + std::to_string(limit) + " headers)";
}

// RFC 3261 8.2.2, for the requests beckond answers itself (not those it
// would forward): a Request-URI that is not sip: or sips: gets 416 (RFC 4475
// 3.3.2, 3.3.3), a header that does not parse 400, and a Require naming any
// extension 420 listing them all in Unsupported (3.3.5: beckond supports
// none a client may require). The status it answered with, or 0.
int refusedAsUas(nta_agent_t* agent, msg_t* msg, sip_t const* sip) {
  const url_t* uri = sip->sip_request->rq_url;
  if (uri->url_type != url_sip && uri->url_type != url_sips) {
    nta_msg_treply(agent, msg, SIP_416_UNSUPPORTED_URI, SIPTAG_SERVER_STR("beckon/" BECKON_VERSION),
                   TAG_END());
    return 416;
  }
  // A header Sofia could not parse (nta lets those of some classes through):
  // acting as if it were absent would, e.g., register without the Path.
  if (sip->sip_error) {
    // As nta names it: a header of a known class that failed keeps its class.
    const auto* h = reinterpret_cast<sip_header_t const*>(sip->sip_error);
    const char* name = h->sh_class == sip_error_class ? h->sh_error->er_name : h->sh_class->hc_name;
    const std::string phrase = std::string("Bad ") + (name && *name ? name : "Header") + " Header";
    nta_msg_treply(agent, msg, 400, phrase.c_str(), SIPTAG_SERVER_STR("beckon/" BECKON_VERSION),
                   TAG_END());
    return 400;
  }
  if (sip->sip_require) {
    std::string unsupported;
    for (const char* const* k = sip->sip_require->k_items; k && *k; ++k)
      unsupported += (unsupported.empty() ? "" : ", ") + std::string(*k);
    nta_msg_treply(agent, msg, SIP_420_BAD_EXTENSION,
                   TAG_IF(!unsupported.empty(), SIPTAG_UNSUPPORTED_STR(unsupported.c_str())),
                   SIPTAG_SERVER_STR("beckon/" BECKON_VERSION), TAG_END());
    return 420;
  }
  return 0;
}

}  // namespace

std::string listenUrl(const std::string& spec) {
  const auto colon = spec.find(':');
  const std::string proto = spec.substr(0, colon);
  if (colon == std::string::npos || (proto != "udp" && proto != "tcp" && proto != "tls")) {
    throw std::invalid_argument("'" + spec + "' is not udp:, tcp: or tls:HOST:PORT");
  }
  const std::string hostport = spec.substr(colon + 1);
  const auto portColon = hostport.rfind(':');
  if (portColon == std::string::npos || portColon == 0 || portColon + 1 == hostport.size() ||
      (hostport.find(':') != portColon && hostport.front() != '[')) {
    throw std::invalid_argument("'" + spec + "' has no HOST:PORT (write IPv6 hosts as [::1])");
  }
  const std::string port = hostport.substr(portColon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
      std::stoul(port) > 65535) {
    throw std::invalid_argument("'" + spec + "' has an invalid port");
  }
  return (proto == "tls" ? "sips:" : "sip:") + hostport + ";transport=" + proto;
}

namespace {

struct Listener {
  std::string spec;   // as configured
  std::string url;    // for nta
  std::string ident;  // "l<i>", or "l<i>.<k>" for the k-th address of a wildcard
};

// The sockets to listen on, each with its own ident. nta sends a request
// from the UDP socket of the ident it is given, and Sofia binds a wildcard
// UDP listener once per local address under one ident: a NOTIFY would leave
// from the first address, not from the one its device sent to (and a device
// that checks where NOTIFYs come from would refuse it). So a wildcard UDP
// listener becomes one listener per local address.
std::vector<Listener> listeners(const std::vector<std::string>& specs) {
  std::vector<Listener> out;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const std::string& spec = specs[i];
    const std::string ident = "l" + std::to_string(i);
    const bool v4 = spec.starts_with("udp:0.0.0.0:"), v6 = spec.starts_with("udp:[::]:");
    ifaddrs* addrs = nullptr;
    if ((!v4 && !v6) || getifaddrs(&addrs) != 0) {
      out.push_back({spec, listenUrl(spec), ident});
      continue;
    }
    const std::string port = spec.substr(spec.rfind(':') + 1);
    std::size_t k = 0;
    for (ifaddrs* a = addrs; a; a = a->ifa_next) {
      if (!a->ifa_addr || !(a->ifa_flags & IFF_UP)) continue;
      const int family = a->ifa_addr->sa_family;
      if (family != (v4 ? AF_INET : AF_INET6)) continue;
      char host[INET6_ADDRSTRLEN] = "";
      const void* addr =
          family == AF_INET
              ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr)
              : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr);
      if (family == AF_INET6 &&
          IN6_IS_ADDR_LINKLOCAL(&reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr)) {
        continue;  // needs a scope: not an address devices register to
      }
      inet_ntop(family, addr, host, sizeof host);
      const std::string h = family == AF_INET6 ? "[" + std::string(host) + "]" : host;
      out.push_back(
          {spec, "sip:" + h + ":" + port + ";transport=udp", ident + "." + std::to_string(k++)});
    }
    freeifaddrs(addrs);
    if (k == 0) out.push_back({spec, listenUrl(spec), ident});
  }
  return out;
}

}  // namespace

SipServer::SipServer(SipConfig config)
    : config_(std::move(config)), sender_(config_.notifyTimeout, config_.notifyCredentials) {
  for (const auto& spec : config_.listen)
    listenUrl(spec);  // fail early, in the caller's thread
}

SipServer::~SipServer() {
  stop();
}

void SipServer::start(Core& core, const Clock& clock, StoredState restored) {
  std::promise<void> ready;
  auto started = ready.get_future();
  thread_ = std::thread(&SipServer::run, this, &core, &clock, &restored, &ready);
  try {
    started.get();
  } catch (...) {
    thread_.join();
    throw;
  }
}

void SipServer::run(Core* core, const Clock* clock, StoredState* restored,
                    std::promise<void>* ready) {
  nameThisThread("sip");
  try {
    dialogKeys_ = restored->dialogKeys;
    setUp(*core, *clock);
    // What a previous run saved, before any request is read.
    const auto started = std::chrono::steady_clock::now();
    std::unordered_map<tport_t*, std::shared_ptr<Flow>> udpFlows;  // one per UDP socket
    core->restore(std::move(*restored), [&](Binding& b) { reattach(b, udpFlows); });
    spdlog::info("restore took {} ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - started)
                                           .count());
  } catch (...) {
    tearDown();
    ready->set_exception(std::current_exception());
    return;
  }
  numericLookupsOnly();  // listen addresses are resolved; from now on, no DNS here
  ready->set_value();
  su_root_run(root_);
  tearDown();
}

void SipServer::setUp(Core& core, const Clock& clock) {
  su_log_redirect(nullptr, sofiaLog, nullptr);
  su_root_t* root = su_root_create(this);
  if (!root) throw std::runtime_error("cannot create the Sofia-SIP event loop");
  {
    std::lock_guard lock(mutex_);
    root_ = root;
  }
  core_ = &core;

  // Responses go to where a request came from even without ";rport" in its
  // Via (RFC 3581 behaviour for every client: devices sit behind NAT).
  // UDP NOTIFYs stay on UDP whatever their size: a device behind NAT cannot
  // take a new TCP connection (RFC 3261 18.1.1 would switch above 1300 bytes).
  // Sofia reads a TLS transport's key and certificate from agent.pem and the
  // CAs from cafile.pem in one directory: a private one, gone once loaded.
  CertificateDir certificates(config_.tls);
  // [limits]: connections are admitted as they are accepted (on this thread).
  guard_ = std::make_unique<ConnectionGuard>(config_.limits, core.metrics());
  guard_->install();
  const Limits& limits = config_.limits;
  const auto idleMs = static_cast<unsigned>(limits.sipIdle.count());
  const auto messageTimeoutMs = static_cast<unsigned>(limits.sipMessageTimeout.count());
  // Sofia's TLS contexts get beckond's policy as they are made (tls_policy.h).
  const TlsPolicyScope tlsPolicy;
  const int tlsContextsBefore = tlsPolicyApplied();
  const std::vector<Listener> sockets = listeners(config_.listen);
  // RFC 5626 8: STUN Binding requests on the UDP ports are answered by
  // beckond's own responder (stun.h), plugged in before the first transport.
  // Sofia's, which leaked, is never used: if another one were plugged in,
  // STUN stays off (Sofia then answers a Binding error).
  const bool stunResponder = stun::installResponder();
  if (!stunResponder) spdlog::warn("sip: STUN keep-alives are not answered (another STUN server)");
  agent_ = nta_agent_create(
      root_, URL_STRING_MAKE(sockets.at(0).url.c_str()), &SipServer::onMessage, this,
      NTATAG_UDP_MTU(65535), NTATAG_SERVER_RPORT(2),
      NTATAG_CLIENT_RPORT(1),  // our own Vias ask for rport too (RFC 3581)
      // The proxy answers a CANCELled INVITE itself (RFC 3261 16.10), after
      // CANCELling its branches; nta must not answer 487 on its own.
      NTATAG_CANCEL_487(0),
      NTATAG_MAXSIZE(limits.sipMaxMessageBytes),  // larger: 413 (and a stream is closed)
      TPTAG_IDLE(idleMs),               // connections no binding holds, idle this long, are closed
      TPTAG_TIMEOUT(messageTimeoutMs),  // an incomplete message that stalls: 400, closed
      TPTAG_PONG2PING(1),               // RFC 5626 4.4.1: CRLF answers a CRLFCRLF keep-alive
      TPTAG_IDENT(sockets[0].ident.c_str()),  // NOTIFYs leave from the one a device used
      TPTAG_UDP_RMEM(config_.udpReceiveBuffer),
      // Our responder, never Sofia's (docs/security.md, "STUN").
      TPTAG_STUN_SERVER(stunResponder ? 1 : 0),
      TAG_IF(certificates.path(), TPTAG_CERTIFICATE(certificates.path())), TAG_END());
  if (!agent_) {
    throw std::runtime_error("sip.listen: cannot listen on " + sockets[0].spec + ": " +
                             std::strerror(errno));
  }
  for (std::size_t i = 1; i < sockets.size(); ++i) {
    if (nta_agent_add_tport(agent_, URL_STRING_MAKE(sockets[i].url.c_str()),
                            TAG_IF(certificates.path(), TPTAG_CERTIFICATE(certificates.path())),
                            TPTAG_IDENT(sockets[i].ident.c_str()),
                            TPTAG_UDP_RMEM(config_.udpReceiveBuffer), TPTAG_IDLE(idleMs),
                            TPTAG_TIMEOUT(messageTimeoutMs), TAG_END()) < 0) {
      throw std::runtime_error("sip.listen: cannot listen on " + sockets[i].spec + ": " +
                               std::strerror(errno));
    }
  }
  // Fail closed: a TLS listener whose context did not take the policy would
  // accept whatever Sofia allows (TLS 1.0, CBC, RSA key exchange).
  const bool tlsListener =
      std::any_of(config_.listen.begin(), config_.listen.end(),
                  [](const std::string& l) { return l.rfind("tls:", 0) == 0; });
  if (tlsListener && tlsPolicyApplied() == tlsContextsBefore) {
    throw std::runtime_error(
        "sip.tls: cannot apply the TLS policy (TLS 1.2+, ECDHE with AEAD) to Sofia-SIP's TLS "
        "transport");
  }
  // Requests outside dialogs reach onMessage() without a server transaction
  // (there is no default leg): REGISTER is answered statelessly, as it is
  // idempotent, so no completed transaction is held for 64*T1. This leg is
  // only the vehicle of our own out-of-dialog NOTIFYs (its URI matches nothing).
  leg_ = nta_leg_tcreate(agent_, &SipServer::onLegRequest, this, NTATAG_NO_DIALOG(1),
                         URLTAG_URL("sip:notifier.invalid"), TAG_END());
  if (!leg_) throw std::runtime_error("cannot create the SIP leg for NOTIFYs");
  sender_.setMetrics(core.metrics());
  sender_.attach(root_, agent_, leg_);
  authorizer_ = std::make_unique<RequestAuthorizer>(config_.auth, clock, core.metrics());
  requestLimits_ = std::make_unique<RequestLimits>(config_.limits, core.metrics());
  registrar_ = std::make_unique<Registrar>(config_.registrar, core, resources_, *authorizer_, clock,
                                           *requestLimits_);
  events_ =
      std::make_unique<EventServer>(config_.registrar, core, resources_, *authorizer_, sender_,
                                    clock, &SipServer::onDialogRequest, this, *requestLimits_);
  if (config_.proxy.enabled) {
    proxy_ = std::make_unique<Proxy>(config_.proxy, config_.registrar, config_.auth, core,
                                     *authorizer_, clock, root_, agent_, dialogKeys_);
    b2bua_ = std::make_unique<b2bua::B2bua>(config_.proxy, *proxy_, core, agent_);
    proxy_->setB2bua(b2bua_.get());
  }

  tick_ = su_timer_create(su_root_task(root_), kTickMs);
  if (!tick_ || su_timer_run(tick_, &SipServer::onTick, nullptr) < 0) {
    throw std::runtime_error("cannot start the SIP timer");
  }
}

void SipServer::reattach(Binding& b,
                         std::unordered_map<tport_t*, std::shared_ptr<Flow>>& udpFlows) {
  if (b.explicitSubscription()) {
    if (auto why = events_->restoreDialog(agent_, b)) {
      spdlog::warn("subscription aor={} contact={} not restored: {}", b.aor, b.contact, *why);
      b.unreachable = true;
      return;
    }
  }
  if (b.transport != Transport::Udp) {
    // The connection died with the previous run: the device is reached
    // again once it connects and registers (RFC 5626 devices do at once).
    b.unreachable = true;
    return;
  }
  // A UDP binding is reached from the socket its REGISTER came in on; a
  // store that did not know it: the first UDP socket of the address family.
  const bool v6 = b.sourceHost.find(':') != std::string::npos;
  tport_t* fallback = nullptr;
  for (tport_t* tp = tport_primaries(nta_agent_tports(agent_)); tp; tp = tport_next(tp)) {
    if (!tport_is_dgram(tp)) continue;
    const su_addrinfo_t* ai = tport_get_address(tp);
    if (!fallback && ai && (ai->ai_family == AF_INET6) == v6) fallback = tp;
    const char* ident = tport_ident(tp);
    if (ident && b.listener == ident) {
      fallback = tp;
      break;
    }
  }
  if (!fallback) {
    b.unreachable = true;
    return;
  }
  std::shared_ptr<Flow>& flow = udpFlows[fallback];
  if (!flow) flow = std::make_shared<SipFlow>(resources_, fallback);
  b.flow = flow;
}

void SipServer::tearDown() {
  {
    std::lock_guard lock(mutex_);  // no more work from other threads
    if (!root_) return;
  }
  sender_.detach();
  b2bua_.reset();  // its calls and the proxy's transactions go before the agent does
  proxy_.reset();
  registrar_.reset();
  events_.reset();
  authorizer_.reset();
  if (tick_) su_timer_destroy(tick_), tick_ = nullptr;
  resources_.releaseAll();
  if (leg_) nta_leg_destroy(leg_), leg_ = nullptr;
  if (agent_) nta_agent_destroy(agent_), agent_ = nullptr;
  guard_.reset();
  requestLimits_.reset();
  su_root_t* root = nullptr;
  {
    std::lock_guard lock(mutex_);
    std::swap(root, root_);
  }
  su_root_destroy(root);
  core_ = nullptr;
}

void SipServer::stop() {
  if (!thread_.joinable()) return;
  if (!post([this] { su_root_break(root_); })) {
    spdlog::warn("SIP thread did not take the stop request");
  }
  thread_.join();
}

bool SipServer::post(std::function<void()> work) {
  std::lock_guard lock(mutex_);
  if (!root_) return false;
  inbox_.push_back(std::move(work));
  if (wakeupPending_) return true;  // the SIP thread will take this one with the others
  // One Sofia message wakes the SIP thread for everything queued until it runs.
  su_msg_r msg = SU_MSG_R_INIT;
  if (su_msg_create(msg, su_root_task(root_), su_task_null, &SipServer::onWork, 0) != 0 ||
      su_msg_send(msg) != 0) {
    inbox_.pop_back();
    return false;
  }
  wakeupPending_ = true;
  return true;
}

std::size_t SipServer::backlog() {
  std::lock_guard lock(mutex_);
  return inbox_.size();
}

bool SipServer::reload(std::vector<NotifyCredential> credentials, SipAuthConfig auth,
                       std::chrono::milliseconds bound) {
  auto applied = std::make_shared<std::promise<bool>>();
  auto done = applied->get_future();
  const bool posted =
      post([this, applied, credentials = std::move(credentials), auth = std::move(auth)]() mutable {
        try {
          sender_.setCredentials(credentials);
          config_.notifyCredentials = std::move(credentials);
          config_.auth = std::move(auth);  // the authorizer reads it from here
          if (authorizer_) authorizer_->reload();
          applied->set_value(true);
        } catch (const std::exception& e) {
          spdlog::error("reload: SIP credentials not applied: {}", e.what());
          applied->set_value(false);
        }
      });
  return posted && done.wait_for(bound) == std::future_status::ready && done.get();
}

void SipServer::rotateDialogKey() {
  post([this] {
    if (!proxy_) {
      spdlog::warn("SIGUSR1: no proxy ([proxy] enabled = false): no Record-Route key to rotate");
    } else if (!proxy_->rotateKey()) {
      spdlog::warn("SIGUSR1: a Record-Route key is being stored already; try again");
    }
  });
}

void SipServer::onWork(SipServer* self, su_msg_r, su_msg_arg_t*) {
  std::deque<std::function<void()>> work;
  {
    std::lock_guard lock(self->mutex_);
    work.swap(self->inbox_);
    self->wakeupPending_ = false;
  }
  for (auto& w : work)
    guarded(Boundary::SipJob, w);
}

void SipServer::onTick(SipServer* self, su_timer_t*, su_timer_arg_t*) {
  guarded(Boundary::SipTimer, [self] { self->core_->tick(); });
  guarded(Boundary::SipTimer, [self] { self->guard_->tick(); });
  if (self->proxy_) guarded(Boundary::SipTimer, [self] { self->proxy_->tick(); });
  if (self->b2bua_) guarded(Boundary::SipTimer, [self] { self->b2bua_->tick(); });
}

// The SIP thread's entry for every message no transaction took. An
// exception ends here: a request that was not answered yet gets 500
// statelessly (from a reference kept for that), an ACK or a response is
// dropped (boundary.h).
int SipServer::onMessage(SipServer* self, nta_agent_t* agent, msg_t* msg, sip_t* sip) {
  const bool request = sip && sip->sip_request;
  const Boundary where = request ? Boundary::SipRequest : Boundary::SipResponse;
  msg_t* kept = msg_ref_create(msg);
  const bool ok = guarded(
      where, [&] { handleMessage(self, agent, msg, sip); }, [&] { return logKeys(sip); });
  if (!ok && request && sip->sip_request->rq_method != sip_method_ack) {
    guarded(where, [&] {
      nta_msg_treply(agent, msg_ref_create(kept), SIP_500_INTERNAL_SERVER_ERROR,
                     SIPTAG_SERVER_STR("beckon/" BECKON_VERSION), TAG_END());
    });
  }
  msg_destroy(kept);
  return 0;
}

void SipServer::handleMessage(SipServer* self, nta_agent_t* agent, msg_t* msg, sip_t* sip) {
  if (!sip || !sip->sip_request) {
    // A response no transaction took: the proxy forwards it statelessly
    // when it carries our Via (RFC 3261 16.11), else it is dropped.
    if (sip && sip->sip_status && self->proxy_) {
      self->proxy_->onResponse(msg, sip);
    } else {
      nta_msg_discard(agent, msg);
    }
    return;
  }
  // Answers go where the request came from (RFC 3581, as nta does with the
  // received/rport it adds), never to a Via maddr: that would let one
  // datagram send beckond's answers to any third party, or make it resolve a
  // name (see name_lookups.h).
  if (sip->sip_via && sip->sip_via->v_maddr) {
    msg_header_remove_param(sip->sip_via->v_common, "maddr");
    sip->sip_via->v_maddr = nullptr;
  }
  auto reply = [&](int status, const char* phrase) {
    nta_msg_treply(agent, msg, status, phrase, SIPTAG_ALLOW_STR(kAllow),
                   SIPTAG_SERVER_STR("beckon/" BECKON_VERSION), TAG_END());
  };
  self->guard_->delivered(agent, msg);
  if (tooManyHeaders(msg, self->config_.limits.sipMaxHeaders, self->core_->metrics())) {
    if (sip->sip_request->rq_method == sip_method_ack) {
      nta_msg_discard(agent, msg);  // no answer to an ACK
    } else {
      reply(513, tooManyHeadersPhrase(self->config_.limits.sipMaxHeaders).c_str());
    }
    return;
  }
  switch (sip->sip_request->rq_method) {
    case sip_method_register:
      if (const int status = refusedAsUas(agent, msg, sip)) {
        if (Metrics* m = self->core_->metrics()) m->registerAnswered(status);
      } else {
        self->registrar_->onRegister(agent, msg, sip);
      }
      break;
    case sip_method_subscribe:
      if (!refusedAsUas(agent, msg, sip)) self->events_->onSubscribe(agent, msg, sip);
      break;
    case sip_method_cancel:
      // A CANCEL that matched no server transaction: nothing to cancel (the
      // proxy is stateful for every INVITE it forwards).
      reply(SIP_481_NO_TRANSACTION);
      break;
    default:
      // Everything else, unknown methods included (RFC 3261 16: a proxy
      // forwards what it does not understand), goes through the proxy.
      if (self->proxy_) {
        self->proxy_->onRequest(msg, sip);
        break;
      }
      switch (sip->sip_request->rq_method) {
        case sip_method_options:
          if (!refusedAsUas(agent, msg, sip)) reply(SIP_200_OK);
          break;
        case sip_method_ack:
          nta_msg_discard(agent, msg);
          break;
        case sip_method_unknown:  // a method beckond does not know at all (RFC 3261 21.5.2)
          reply(SIP_501_NOT_IMPLEMENTED);
          break;
        default:
          reply(SIP_405_METHOD_NOT_ALLOWED);
      }
  }
  return;
}

// In-dialog requests of the event server's dialogs. An exception ends here:
// nta answers 500 for the status returned.
int SipServer::onDialogRequest(SipServer* self, nta_leg_t* leg, nta_incoming_t* irq,
                               sip_t const* sip) {
  int status = 500;
  guarded(
      Boundary::SipRequest, [&] { status = handleDialogRequest(self, leg, irq, sip); },
      [&] { return logKeys(sip); });
  return status;
}

int SipServer::handleDialogRequest(SipServer* self, nta_leg_t*, nta_incoming_t* irq,
                                   sip_t const* sip) {
  if (msg_t* msg = nta_incoming_getrequest(irq)) {
    self->guard_->delivered(self->agent_, msg);
    const bool refuse =
        tooManyHeaders(msg, self->config_.limits.sipMaxHeaders, self->core_->metrics());
    msg_destroy(msg);
    if (refuse) {
      const std::string phrase = tooManyHeadersPhrase(self->config_.limits.sipMaxHeaders);
      nta_incoming_treply(irq, 513, phrase.c_str(), SIPTAG_SERVER_STR("beckon/" BECKON_VERSION),
                          TAG_END());
      nta_incoming_destroy(irq);
      return 0;
    }
  }
  return self->events_->onDialogRequest(self->agent_, irq, sip);
}

int SipServer::onLegRequest(SipServer*, nta_leg_t*, nta_incoming_t*, sip_t const*) {
  return 404;  // nobody sends requests to sip:notifier.invalid
}

}  // namespace beckon::sip
