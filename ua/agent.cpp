#include "agent.h"

#include <strings.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cctype>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "body_parser.h"
#include "call.h"
#include "digest_client.h"
#include "reconstruction.h"
#include "sdp.h"
#include "sip_text.h"
#include "time_slot.h"

namespace beckon::ua {

namespace {

volatile std::sig_atomic_t g_signal = 0;

extern "C" void onSignal(int sig) {
  g_signal = sig;
}

void sofiaToStderr(void*, const char* fmt, va_list ap) {
  std::vfprintf(stderr, fmt, ap);
}

void sofiaQuiet(void*, const char*, va_list) {}

// "SIP/2.0/UDP" -> "udp"
std::string viaTransport(const sip_t* sip) {
  if (!sip || !sip->sip_via || !sip->sip_via->v_protocol) return "";
  std::string p = sip->sip_via->v_protocol;
  const auto slash = p.rfind('/');
  if (slash != std::string::npos) p = p.substr(slash + 1);
  for (auto& ch : p)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return p;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Sofia reads the TLS transport's key and certificate from agent.pem and the
// CAs from cafile.pem in one directory: a private one, removed once the
// stack has loaded them.
class CertificateDir {
 public:
  CertificateDir(const std::string& ca, const std::string& cert, const std::string& key) {
    if (ca.empty() && cert.empty()) return;
    char tmpl[] = "/tmp/beckon-ua-tls-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("cannot make a directory for the TLS files");
    dir_ = tmpl;
    auto write = [&](const char* name, const std::string& text) {
      std::ofstream out(dir_ + "/" + name, std::ios::binary);
      out << text;
      if (!out) throw std::runtime_error(std::string("cannot write ") + name);
    };
    if (!cert.empty())
      write("agent.pem", readFile(key.empty() ? cert : key) + "\n" + readFile(cert));
    if (!ca.empty()) write("cafile.pem", readFile(ca));
  }
  ~CertificateDir() {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  CertificateDir(const CertificateDir&) = delete;
  CertificateDir& operator=(const CertificateDir&) = delete;
  const char* path() const { return dir_.empty() ? nullptr : dir_.c_str(); }

 private:
  std::string dir_;
};

// HOST:PORT with the brackets of an IPv6 host taken off the host.
std::string bareHost(const std::string& hostport) {
  if (!hostport.empty() && hostport.front() == '[') {
    const auto close = hostport.find(']');
    return hostport.substr(1, close == std::string::npos ? std::string::npos : close - 1);
  }
  return hostport.substr(0, hostport.rfind(':'));
}

void eventCallback(nua_event_t event, int status, char const* phrase, nua_t*, Agent* agent,
                   nua_handle_t* nh, void*, sip_t const* sip, tagi_t tags[]) {
  agent->onEvent(event, status, phrase, nh, sip, tags);
}

}  // namespace

Agent::Agent(AgentOptions options) : o_(std::move(options)), reporter_(o_.json), trust_(o_.trust) {}

Agent::~Agent() = default;

void Agent::report(const std::string& event, const Event& fields) {
  reporter_.emit(event, fields);
  ++counts_[event];
}

void Agent::after(Clock::duration delay, std::function<void()> fn) {
  timers_.emplace(Clock::now() + delay, std::move(fn));
}

void Agent::runDue() {
  const auto now = Clock::now();
  while (!timers_.empty() && timers_.begin()->first <= now) {
    auto fn = std::move(timers_.begin()->second);
    timers_.erase(timers_.begin());
    fn();
  }
}

bool Agent::exitConditionsMet() const {
  for (const auto& c : o_.exitAfter) {
    unsigned n = 0;
    if (c.kind == "callback") {
      n = worker_ ? worker_->finished() : 0;
    } else {
      const auto it = counts_.find(c.kind);
      n = it == counts_.end() ? 0 : it->second;
    }
    if (n < c.count) return false;
  }
  return true;
}

void Agent::fail(const std::string& why) {
  if (exitStatus_ < 0) {
    exitStatus_ = kExitFailed;
    exitReason_ = why;
  }
}

std::string Agent::acceptHeader() const {
  std::string out;
  for (const auto f : o_.accept) {
    if (!out.empty()) out += ", ";
    out += contentType(o_.package, f);
  }
  return out;
}

std::string Agent::contactFeatures() const {
  return "+sip.instance=\"<" + o_.instance + ">\"";
}

std::string Agent::sdpAddress() const {
  const std::string host = bareHost(o_.listen);
  if (host.empty() || host == "*" || host == "0.0.0.0" || host == "::") return "127.0.0.1";
  return host;
}

bool Agent::fromRegistrar(std::string& source) const {
  msg_t* msg = nua_current_request(nua_);
  su_addrinfo_t* ai = msg ? msg_addrinfo(msg) : nullptr;
  if (!ai || !ai->ai_addr) return false;
  char host[INET6_ADDRSTRLEN] = "";
  unsigned port = 0;
  if (ai->ai_addr->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(ai->ai_addr);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
  } else if (ai->ai_addr->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(ai->ai_addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
  }
  source = (ai->ai_addr->sa_family == AF_INET6 ? "[" + std::string(host) + "]" : host) + ":" +
           std::to_string(port);
  for (const auto& [ip, p] : registrarAddresses_) {
    if (ip == host && p == std::to_string(port)) return true;
  }
  return false;
}

int Agent::run() {
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  if (!o_.registrar.empty()) {
    // The registrar's addresses: the only source of contact-me NOTIFYs.
    su_home_t home[1] = {SU_HOME_INIT(home)};
    url_t* u = url_make(home, o_.registrar.c_str());
    if (!u || !u->url_host) {
      su_home_deinit(home);
      reporter_.emit("error", {{"reason", "--registrar: not a SIP URI: " + o_.registrar}});
      return kExitUsage;
    }
    const bool tls =
        u->url_type == url_sips || (u->url_params && std::strstr(u->url_params, "transport=tls"));
    const std::string port = u->url_port ? u->url_port : (tls ? "5061" : "5060");
    std::string host = u->url_host;
    if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
    su_home_deinit(home);
    addrinfo hints{};
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* res = nullptr;
    if (getaddrinfo(host.c_str(), nullptr, &hints, &res) == 0) {
      for (addrinfo* a = res; a; a = a->ai_next) {
        char ip[INET6_ADDRSTRLEN] = "";
        if (a->ai_family == AF_INET)
          inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr, ip, sizeof ip);
        else if (a->ai_family == AF_INET6)
          inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr, ip,
                    sizeof ip);
        if (ip[0]) registrarAddresses_.emplace_back(ip, port);
      }
      freeaddrinfo(res);
    }
  }

  HttpOptions http;
  http.caFile = o_.caFile;
  http.certFile = o_.certFile;
  http.keyFile = o_.keyFile;
  http.timeoutMs = o_.httpTimeoutMs;
  http.userAgent = "beckon-ua/" BECKON_VERSION;
  http.device = o_.instance;
  worker_ = std::make_unique<CallbackWorker>(http, reporter_);

  su_init();
  su_log_redirect(nullptr, o_.traceSip ? sofiaToStderr : sofiaQuiet, nullptr);
  root_ = su_root_create(this);
  if (!root_) {
    su_deinit();
    reporter_.emit("error", {{"reason", "cannot create the Sofia-SIP event loop"}});
    return kExitFailed;
  }
  su_root_threading(root_, 0);  // one thread: nua must not start its own

  {
    const auto colon = o_.aor.find(':'), at = o_.aor.find('@');
    if (colon != std::string::npos && at != std::string::npos && at > colon)
      user_ = o_.aor.substr(colon + 1, at - colon - 1);
  }
  const std::string from =
      o_.displayName.empty() ? "<" + o_.aor + ">" : "\"" + o_.displayName + "\" <" + o_.aor + ">";
  const std::string url = "sip:" + o_.listen;
  const std::string sipsUrl = o_.tlsListen.empty() ? "" : "sips:" + o_.tlsListen;
  const std::string features = contactFeatures();
  {
    std::unique_ptr<CertificateDir> certs;
    try {
      certs = std::make_unique<CertificateDir>(o_.caFile, o_.certFile, o_.keyFile);
    } catch (const std::exception& e) {
      reporter_.emit("error", {{"reason", e.what()}});
      exitStatus_ = kExitUsage;
    }
    const bool verify = !o_.caFile.empty();
    if (exitStatus_ < 0) {
      nua_ = nua_create(
          root_, eventCallback, this, NUTAG_URL(url.c_str()),
          TAG_IF(!sipsUrl.empty(), NUTAG_SIPS_URL(sipsUrl.c_str())),
          TAG_IF(certs && certs->path(), NUTAG_CERTIFICATE_DIR(certs ? certs->path() : nullptr)),
          TAG_IF(verify, TPTAG_TLS_VERIFY_POLICY(TPTLS_VERIFY_OUTGOING)),
          TAG_IF(o_.traceSip, TPTAG_LOG(1)), SIPTAG_FROM_STR(from.c_str()),
          SIPTAG_USER_AGENT_STR("beckon-ua/" BECKON_VERSION), NUTAG_M_USERNAME(user_.c_str()),
          NUTAG_M_FEATURES(features.c_str()), NUTAG_MEDIA_ENABLE(0), NUTAG_AUTOALERT(0),
          NUTAG_AUTOANSWER(0),
          NUTAG_SHUTDOWN_EVENTS(1),  // report the unREGISTER and calls ended by the shutdown
          // contact-me NOTIFYs come outside any subscription; REFERs are
          // answered by reconstruction.cpp
          NUTAG_APPL_METHOD("NOTIFY, REFER"), NUTAG_ALLOW("INFO"),
          NUTAG_ALLOW_EVENTS(o_.package.c_str()),
          // Predictable messages: no NAT guessing, no OPTIONS to ourselves.
          NUTAG_OUTBOUND("no-natify no-validate no-options-keepalive"),
          TAG_IF(!o_.proxy.empty(), NUTAG_PROXY(o_.proxy.c_str())), TAG_END());
      if (!nua_) {
        reporter_.emit("error", {{"reason", "cannot listen on " + url +
                                                (sipsUrl.empty() ? "" : " and " + sipsUrl) + ": " +
                                                std::strerror(errno)}});
        exitStatus_ = kExitFailed;
      }
    }
  }
  if (!nua_) {
    su_root_destroy(root_);
    root_ = nullptr;
    su_deinit();
    worker_->stop();
    return exitStatus_;
  }

  Event started = {{"aor", o_.aor}, {"instance", o_.instance}, {"listen", url}};
  if (!sipsUrl.empty()) started["tls_listen"] = sipsUrl;
  report("started", started);
  start();

  const auto deadline =
      o_.timeoutS > 0
          ? Clock::now() + std::chrono::milliseconds(static_cast<long long>(o_.timeoutS * 1000))
          : Clock::time_point::max();
  while (exitStatus_ < 0) {
    su_root_step(root_, 20);
    runDue();
    if (exitStatus_ >= 0) break;
    if (g_signal) {
      exitStatus_ = kExitOk;
      exitReason_ = g_signal == SIGINT ? "SIGINT" : "SIGTERM";
    } else if (!o_.exitAfter.empty() && exitConditionsMet()) {
      exitStatus_ = kExitOk;
      exitReason_ = "exit-after";
    } else if (Clock::now() >= deadline) {
      exitStatus_ = o_.exitAfter.empty() ? kExitOk : kExitTimeout;
      exitReason_ = "timeout";
    }
  }

  // End the explicit subscription first and wait (bounded) for its final
  // NOTIFY: nua_shutdown() would drop the dialog before it arrives.
  if (subscribed_) {
    nua_unsubscribe(subscribe_, TAG_END());
    const auto until = Clock::now() + std::chrono::seconds(2);
    while (subscribed_ && Clock::now() < until)
      su_root_step(root_, 20);
  }
  // A request still without an answer (a REGISTER over a TLS connection
  // whose handshake failed, say: Sofia only gives up at Timer F, 32 s) would
  // hold the shutdown: drop it with its handle; there is nothing to undo.
  if (register_ && !registered_) nua_handle_destroy(register_), register_ = nullptr;
  if (subscribe_ && !subscribed_) nua_handle_destroy(subscribe_), subscribe_ = nullptr;
  for (auto it = calls_.begin(); it != calls_.end();) {
    if (it->second->outgoing && !it->second->established && !it->second->provisional) {
      nua_handle_destroy(it->second->nh);
      it = calls_.erase(it);
    } else {
      ++it;
    }
  }
  // Unregister, end calls; bounded.
  nua_shutdown(nua_);
  const auto until = Clock::now() + std::chrono::seconds(4);
  while (!shutdownDone_ && Clock::now() < until)
    su_root_step(root_, 20);
  worker_->stop();
  for (auto& [id, call] : calls_) {
    for (nua_handle_t* nh : {call->nh, call->deadNh, call->pendingNh, call->referNh})
      if (nh) nua_handle_destroy(nh);
  }
  calls_.clear();
  if (register_) nua_handle_destroy(register_), register_ = nullptr;
  if (subscribe_) nua_handle_destroy(subscribe_), subscribe_ = nullptr;
  if (shutdownDone_) {
    nua_destroy(nua_);
    su_root_destroy(root_);
    su_deinit();
  } else {
    // nua_destroy() refuses an unfinished shutdown; the stack is left to the
    // process's exit rather than freed under its own feet.
    std::fprintf(stderr, "beckon-ua: SIP shutdown did not complete within 4 s\n");
  }
  nua_ = nullptr;
  root_ = nullptr;
  reporter_.emit("exit", {{"status", exitStatus_}, {"reason", exitReason_}});
  return exitStatus_;
}

void Agent::start() {
  if (o_.doRegister) registerNow();
  if (o_.doSubscribe) subscribeNow();
  if (!o_.call.empty() && !o_.doRegister) placeCall();
}

void Agent::registerNow(const std::string& authorization, bool proxy) {
  if (!register_)
    register_ = nua_handle(nua_, nullptr, SIPTAG_TO_STR(("<" + o_.aor + ">").c_str()), TAG_END());
  const std::string expires = std::to_string(o_.expires);
  const std::string accept = acceptHeader();
  const bool auth = !authorization.empty();
  nua_register(register_, NUTAG_REGISTRAR(URL_STRING_MAKE(o_.registrar.c_str())),
               SIPTAG_ACCEPT_STR(accept.c_str()), SIPTAG_EXPIRES_STR(expires.c_str()),
               TAG_IF(auth && !proxy, SIPTAG_AUTHORIZATION_STR(authorization.c_str())),
               TAG_IF(auth && proxy, SIPTAG_PROXY_AUTHORIZATION_STR(authorization.c_str())),
               TAG_END());
}

void Agent::subscribeNow(const std::string& authorization, bool proxy) {
  // The SUBSCRIBE is for the device's own address of record, routed to the
  // registrar (loose routing).
  const std::string route = "<" + o_.registrar + ";lr>";
  if (!subscribe_)
    subscribe_ = nua_handle(nua_, nullptr, SIPTAG_TO_STR(("<" + o_.aor + ">").c_str()),
                            NUTAG_INITIAL_ROUTE_STR(route.c_str()), TAG_END());
  const bool auth = !authorization.empty();
  const std::string expires = std::to_string(o_.expires);
  const std::string accept = acceptHeader();
  // nua puts the instance id only into the Contact of REGISTER: beckond
  // indexes an explicit subscription by the Contact's +sip.instance too.
  const bool tls = o_.registrar.rfind("sips:", 0) == 0 ||
                   o_.registrar.find("transport=tls") != std::string::npos;
  const std::string contact = "<" + std::string(tls ? "sips:" : "sip:") + user_ + "@" +
                              (tls ? o_.tlsListen : o_.listen) + ">;" + contactFeatures();
  nua_subscribe(subscribe_, NUTAG_URL(o_.aor.c_str()), SIPTAG_EVENT_STR(o_.package.c_str()),
                SIPTAG_ACCEPT_STR(accept.c_str()), SIPTAG_EXPIRES_STR(expires.c_str()),
                SIPTAG_CONTACT_STR(contact.c_str()),
                TAG_IF(auth && !proxy, SIPTAG_AUTHORIZATION_STR(authorization.c_str())),
                TAG_IF(auth && proxy, SIPTAG_PROXY_AUTHORIZATION_STR(authorization.c_str())),
                TAG_END());
}

std::string Agent::credentialsFor(const sip_t* sip, const std::string& method,
                                  const std::string& uri) {
  if (o_.authUser.empty() || !sip) return "";
  std::vector<DigestChallenge> challenges;
  for (const msg_auth_t* a = sip->sip_www_authenticate; a; a = a->au_next)
    challenges.push_back(challengeOf(a->au_scheme, a->au_params));
  for (const msg_auth_t* a = sip->sip_proxy_authenticate; a; a = a->au_next)
    challenges.push_back(challengeOf(a->au_scheme, a->au_params));
  const auto challenge = pickChallenge(challenges);
  if (!challenge) return "";
  static std::mt19937_64 rng{std::random_device{}()};
  char cnonce[17];
  std::snprintf(cnonce, sizeof cnonce, "%016llx", static_cast<unsigned long long>(rng()));
  const auto algorithm = challenge->params.find("algorithm");
  reportAuth(sip, method, challenge->params.at("realm"),
             algorithm == challenge->params.end() ? "MD5" : algorithm->second, "beckon-ua");
  return digestAuthorization(*challenge, {o_.authUser, o_.password, method, uri, cnonce, 1});
}

void Agent::reportAuth(const sip_t* sip, const std::string& method, const std::string& realm,
                       const std::string& algorithm, const char* client) {
  std::string upper = algorithm;
  for (char& ch : upper)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  report("auth", {{"method", method},
                  {"status", sip && sip->sip_status ? sip->sip_status->st_status : 0},
                  {"realm", realm},
                  {"algorithm", upper},
                  {"client", client}});
}

bool Agent::nuaAuthenticates(nua_handle_t* nh, const sip_t* sip, const std::string& method) {
  if (o_.authUser.empty() || !sip) return false;
  // nua's digest client (Sofia-SIP 1.12.11) takes the challenges only when
  // every one is MD5; on any other algorithm it gave up and reported the
  // 401/407 as final (docs/decisions.md, "Digest challenge order").
  for (const msg_auth_t* list : {sip->sip_www_authenticate, sip->sip_proxy_authenticate}) {
    for (const msg_auth_t* a = list; a; a = a->au_next) {
      const char* algorithm = msg_params_find(a->au_params, "algorithm=");
      if (algorithm && strcasecmp(algorithm, "MD5") != 0) return false;
    }
  }
  const msg_auth_t* challenge =
      sip->sip_proxy_authenticate ? sip->sip_proxy_authenticate : sip->sip_www_authenticate;
  const char* realm = challenge ? msg_params_find(challenge->au_params, "realm=") : nullptr;
  if (!realm) return false;
  // nua's digest client: "scheme:\"realm\":user:password".
  const std::string credentials =
      std::string(challenge->au_scheme) + ":" + realm + ":" + o_.authUser + ":" + o_.password;
  std::string bare = realm;
  if (bare.size() >= 2 && bare.front() == '"') bare = bare.substr(1, bare.size() - 2);
  reportAuth(sip, method, bare, "MD5", "nua");
  nua_authenticate(nh, NUTAG_AUTH(credentials.c_str()), TAG_END());
  return true;
}

void Agent::onEvent(nua_event_t event, int status, const char* phrase, nua_handle_t* nh,
                    const sip_t* sip, tagi_t tags[]) {
  switch (event) {
    case nua_r_register:
    case nua_r_unregister:
      if (nh == register_) onRegister(event, status, phrase, sip);
      break;
    case nua_r_subscribe:
    case nua_r_unsubscribe:
      if (nh == subscribe_) {
        if (event == nua_r_unsubscribe && (status == 401 || status == 407) && subscribeTries_ < 2) {
          if (nuaAuthenticates(subscribe_, sip, "SUBSCRIBE")) {
            ++subscribeTries_;
            break;
          }
          const std::string credentials = credentialsFor(sip, "SUBSCRIBE", subscribeTarget_);
          if (!credentials.empty()) {
            ++subscribeTries_;
            nua_unsubscribe(
                subscribe_, TAG_IF(status == 401, SIPTAG_AUTHORIZATION_STR(credentials.c_str())),
                TAG_IF(status == 407, SIPTAG_PROXY_AUTHORIZATION_STR(credentials.c_str())),
                TAG_END());
            break;
          }
        }
        if (event == nua_r_unsubscribe && status >= 200) {
          report("unsubscribed", {{"status", status}, {"phrase", str(phrase)}});
          if (status >= 300) subscribed_ = false;
        } else if (event == nua_r_subscribe) {
          onSubscribe(status, phrase, sip);
        }
      }
      break;
    case nua_i_notify:
      if (Call* c = findCall(nh); c && nh == c->referNh) {  // the REFER's progress
        if (status < 200) nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(nua_), TAG_END());
        break;
      }
      onNotify(status, nh, sip, tags);
      break;
    case nua_i_refer:
      onRefer(nh, sip);
      break;
    case nua_r_refer:
      if (Call* c = findCall(nh); c && nh == c->referNh) onReferAnswer(*c, status, phrase);
      break;
    case nua_r_info:
      if (Call* c = findCall(nh); c && nh == c->nh && status >= 200) {
        if (sip && sip->sip_cseq) c->localCseq = sip->sip_cseq->cs_seq;
        report("call-info", {{"call", c->id}, {"by", "local"}, {"status", status}});
        if (status == 481) reconstructOr481(*c, sip);
      }
      break;
    case nua_r_bye:
      if (Call* c = findCall(nh); c && nh == c->nh) {
        if (sip && sip->sip_cseq) c->localCseq = sip->sip_cseq->cs_seq;
        if (status == 481) reconstructOr481(*c, sip);
      }
      break;
    case nua_i_invite:
      onInvite(nh, sip);
      break;
    case nua_r_invite:
      if (Call* c = findCall(nh)) {
        if (nh != c->nh) {
          onReplacingInviteAnswer(*c, nh, status, sip);
          break;
        }
        if (c->callId.empty()) c->callId = callIdOf(sip);
        if (sip && sip->sip_cseq) c->localCseq = sip->sip_cseq->cs_seq;
        if ((status == 401 || status == 407) && authenticateCall(*c, sip)) break;
        if (c->established) {  // the answer to our re-INVITE
          if (status >= 200)
            report("call-reinvite", {{"call", c->id}, {"by", "local"}, {"status", status}});
          if (status == 481) reconstructOr481(*c, sip);
          break;
        }
        if (status > 100 && status < 200) c->provisional = true;
        if (status == 180 || status == 183) {
          report("call-ringing", {{"call", c->id}, {"status", status}});
        } else if (status >= 200 && status < 300) {
          c->codec = sdpChosenCodec(payloadOf(sip));
          c->remoteSession = sdpSessionOf(payloadOf(sip));
          noteTags(*c, sip, false);
        } else if (status >= 300) {
          c->status = status;
          // 487: our CANCEL (at --timeout or exit) ended it.
          c->by = sip && status != 487 ? "remote" : "local";
          c->reason = status == 487 ? "cancelled" : (sip ? "rejected" : "failed");
        }
      }
      break;
    case nua_i_ack:
      if (Call* c = findCall(nh); c && nh == c->nh) noteTags(*c, sip, true);
      break;
    case nua_i_state:
      onCallState(nh, status, phrase, sip, tags);
      break;
    case nua_i_cancel:
      if (Call* c = findCall(nh)) {
        c->status = 487;
        c->by = "remote";
        c->reason = "cancelled";
      }
      break;
    case nua_i_bye:
      if (Call* c = findCall(nh)) {
        c->by = "remote";
        c->reason = "bye";
      }
      break;
    case nua_r_authenticate:
      if (status >= 300)
        reporter_.emit("error", {{"status", status}, {"reason", "authentication: " + str(phrase)}});
      break;
    case nua_r_shutdown:
      if (status >= 200) shutdownDone_ = true;
      break;
    case nua_i_error:
      reporter_.emit("error", {{"status", status}, {"reason", str(phrase)}});
      break;
    case nua_i_options:
    case nua_i_info:
      if (Call* c = findCall(nh); c && nh == c->nh) {
        report("call-info", {{"call", c->id}, {"by", "remote"}, {"status", status}});
        break;
      }
      [[fallthrough]];
    case nua_i_message:
    case nua_i_subscribe:
    case nua_i_publish:
      // Requests outside our dialogs nua has answered itself: the handles it
      // made for them are ours to free.
      if (nh && nh != register_ && nh != subscribe_ && !findCall(nh)) nua_handle_destroy(nh);
      break;
    default:
      break;
  }
}

void Agent::onRegister(nua_event_t event, int status, const char* phrase, const sip_t* sip) {
  if (status < 200) return;
  if ((status == 401 || status == 407) && event == nua_r_register && registerTries_ < 2) {
    if (nuaAuthenticates(register_, sip, "REGISTER")) {  // nua waits for credentials
      ++registerTries_;
      return;
    }
    const std::string credentials = credentialsFor(sip, "REGISTER", o_.registrar);
    if (!credentials.empty()) {
      ++registerTries_;
      registerNow(credentials, status == 407);
      return;
    }
  }
  if (event == nua_r_unregister) {
    report("unregistered", {{"status", status}, {"phrase", str(phrase)}});
    return;
  }
  if (status >= 300) {
    report("register-failed", {{"status", status}, {"phrase", str(phrase)}});
    fail("registration failed: " + std::to_string(status) + " " + str(phrase));
    return;
  }
  registerTries_ = 0;
  Event e = {{"aor", o_.aor}, {"registrar", o_.registrar}};
  e["status"] = status;
  const std::string wanted = "<" + o_.instance + ">";
  for (const sip_contact_t* m = sip ? sip->sip_contact : nullptr; m; m = m->m_next) {
    const char* inst = msg_params_find(m->m_params, "+sip.instance=");
    if (!inst) continue;
    std::string value = inst;
    if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.size() - 2);
    if (value != wanted) continue;
    e["contact"] = urlText(m->m_url);
    if (m->m_expires) e["expires"] = std::atol(m->m_expires);
  }
  if (!e.contains("expires") && sip && sip->sip_expires)
    e["expires"] = static_cast<long>(sip->sip_expires->ex_delta);
  e["transport"] = viaTransport(sip);
  const bool first = !registered_;
  registered_ = true;
  e["refresh"] = !first;
  report("registered", e);
  if (first && !o_.call.empty() && !callPlaced_) placeCall();
}

void Agent::onSubscribe(int status, const char* phrase, const sip_t* sip) {
  if (status < 200) return;
  if ((status == 401 || status == 407) && subscribeTries_ < 2) {
    if (nuaAuthenticates(subscribe_, sip, "SUBSCRIBE")) {  // nua waits for credentials
      ++subscribeTries_;
      return;
    }
    // A refresh goes to the dialog's remote target, the first SUBSCRIBE to
    // the address of record.
    const std::string credentials =
        credentialsFor(sip, "SUBSCRIBE", subscribed_ ? subscribeTarget_ : o_.aor);
    if (!credentials.empty()) {
      ++subscribeTries_;
      subscribeNow(credentials, status == 407);
      return;
    }
  }
  if (status >= 300) {
    report("subscribe-failed", {{"status", status}, {"phrase", str(phrase)}});
    fail("subscription failed: " + std::to_string(status) + " " + str(phrase));
    return;
  }
  subscribeTries_ = 0;
  subscribed_ = true;
  if (sip && sip->sip_contact) subscribeTarget_ = urlText(sip->sip_contact->m_url);
  Event e = {{"aor", o_.aor}, {"package", o_.package}, {"status", status}};
  if (sip && sip->sip_expires) e["expires"] = static_cast<long>(sip->sip_expires->ex_delta);
  e["transport"] = viaTransport(sip);
  report("subscribed", e);
}

void Agent::onNotify(int status, nua_handle_t* nh, const sip_t* sip, tagi_t tags[]) {
  // NOTIFYs in our SUBSCRIBE dialog nua has answered 200 itself; those of
  // implicit subscriptions (REGISTER + Accept) come outside any dialog and
  // are ours to answer (NUTAG_APPL_METHOD("NOTIFY")).
  const bool inDialog = nh == subscribe_;
  const bool answerable = !inDialog && status < 200;
  if (inDialog) {
    int substate = -1;
    tl_gets(tags, NUTAG_SUBSTATE_REF(substate), TAG_END());
    if (substate == nua_substate_terminated) {
      subscribed_ = false;
      const auto* ss = sip ? sip->sip_subscription_state : nullptr;
      report("subscription-terminated", {{"reason", ss && ss->ss_reason ? ss->ss_reason : ""}});
    }
  }
  if (!sip) return;  // a local event (the subscription timed out), no NOTIFY

  Event e = Event::object();
  e["from"] = sip->sip_from ? urlText(sip->sip_from->a_url) : "";
  e["subscription"] = inDialog ? "explicit" : "implicit";
  e["transport"] = viaTransport(sip);
  int answered = inDialog ? (status >= 200 ? status : 200) : 0;
  std::string action = "none", reason;
  auto respond = [&](int code, const char* phrase) {
    if (!answerable) return;
    nua_respond(nh, code, phrase, NUTAG_WITH_THIS(nua_),
                TAG_IF(code == 489, SIPTAG_ALLOW_EVENTS_STR(o_.package.c_str())), TAG_END());
    answered = code;
  };
  auto refuse = [&](int code, const char* phrase, const std::string& why) {
    respond(code, phrase);
    action = "refused";
    reason = why;
  };
  auto done = [&] {
    e["answered"] = answered;
    e["action"] = action;
    if (!reason.empty()) e["reason"] = reason;
    report("notify", e);
    if (!inDialog && nh) nua_handle_destroy(nh);
  };

  const std::string event = sip->sip_event ? str(sip->sip_event->o_type) : "";
  if (strcasecmp(event.c_str(), o_.package.c_str()) != 0) {
    e["event_package"] = event;
    refuse(489, "Bad Event", "not the " + o_.package + " package");
    return done();
  }
  std::string source;
  if (answerable && !o_.anySource && !registrarAddresses_.empty() && !fromRegistrar(source)) {
    refuse(403, "Forbidden", "not from the registrar (from " + source + ")");
    return done();
  }
  const std::string ctype = sip->sip_content_type ? str(sip->sip_content_type->c_type) : "";
  const auto format = bodyFormatOf(ctype, o_.package);
  if (!format) {
    refuse(415, "Unsupported Media Type", "Content-Type '" + ctype + "'");
    return done();
  }
  e["format"] = *format == BodyFormat::Xml ? "xml" : "text";
  NotifyContent content;
  try {
    content = parseBody(payloadOf(sip), *format);
  } catch (const BodyError& err) {
    refuse(400, "Bad Request", std::string("body: ") + err.what());
    return done();
  }
  if (content.state != "pending" && content.state != "idle") {
    refuse(400, "Bad Request",
           content.state.empty() ? "body: no state" : "body: unknown state " + content.state);
    return done();
  }
  if (content.state == "pending" && content.requestId.empty()) {
    refuse(400, "Bad Request", "body: a pending request without request-id");
    return done();
  }
  // Answer first: the answer is what the application server learns; the
  // callback follows on the worker's thread.
  respond(200, "OK");
  e["state"] = content.state;
  if (!content.requestId.empty()) e["request_id"] = content.requestId;
  if (!content.server.empty()) e["server"] = content.server;
  if (!content.protocol.empty()) e["protocol"] = content.protocol;
  if (!content.path.empty()) e["path"] = content.path;
  if (!content.altServers.empty()) e["alt_servers"] = content.altServers;
  if (!content.function.empty()) e["function"] = content.function;
  if (!content.timeSlot.empty()) e["time_slot"] = content.timeSlot;
  if (content.state == "idle") return done();

  const std::string key = e["from"].get<std::string>() + " " + content.requestId;
  if (!seenRequests_.insert(key).second) {
    action = "duplicate";
    reason = "request " + content.requestId + " was already handled";
    return done();
  }
  CallbackPlan plan = planCallback(content, trust_, o_.defaults);
  if (!plan.untrustedAlternates.empty()) e["untrusted_alt_servers"] = plan.untrustedAlternates;
  if (!plan.refused.empty()) {
    action = "ignored";
    reason = plan.refused;
    return done();
  }
  auto due = std::chrono::system_clock::now();
  if (!content.timeSlot.empty()) {
    if (const auto slot = parseTimeSlot(content.timeSlot)) {
      static std::mt19937 rng{std::random_device{}()};
      const auto at = callbackTime(*slot, due, std::uniform_real_distribution<>(0, 1)(rng));
      if (!at) {
        action = "ignored";
        reason = "the time-slot is over";
        return done();
      }
      due = *at;
    } else {
      reason = "time-slot not understood: calling back now";
    }
  }
  Event urls = Event::array();
  for (const auto& t : plan.targets)
    urls.push_back(t.url);
  action = "callback";
  e["urls"] = urls;
  const auto delay = due - std::chrono::system_clock::now();
  if (delay > std::chrono::seconds(0))
    e["in_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(delay).count();
  worker_->submit({std::move(plan), due});
  done();
}

}  // namespace beckon::ua
