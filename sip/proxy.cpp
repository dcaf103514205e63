// RFC 3261 section 16, "Proxy Behavior": a request's way through the proxy,
// in the RFC's order and words. The response side (16.7 to 16.10) is in
// response_context.cpp.
#include "proxy.h"

#include <spdlog/spdlog.h>
#include <strings.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "b2bua/b2bua.h"
#include "device_id.h"
#include "response_context.h"

namespace beckon::sip {

namespace {

constexpr const char* kAllow =
    "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, REFER, MESSAGE, INFO, "
    "UPDATE, PRACK";
constexpr const char* kMagicCookie = "z9hG4bK";

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view unbracket(std::string_view host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    return host.substr(1, host.size() - 2);
  return host;
}

// 64-bit FNV-1a: the loop hash needs no secrecy, only speed.
struct Fnv {
  std::uint64_t h = 1469598103934665603ull;
  void add(std::string_view s) {
    for (unsigned char c : s)
      h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;  // field separator
  }
  void add(const char* s) { add(std::string_view(s ? s : "")); }
};

// 16.6 step 8: "...the proxy MAY include in the branch a hash of the
// Request-URI, To tag, From tag, Call-ID, CSeq number, Proxy-Require and
// Proxy-Authorization". The topmost Via is left out (RFC 5393 4.2 on why:
// a request that comes back through another element has another topmost
// Via, and is still a loop).
std::string loopHashOf(sip_t const* sip) {
  Fnv f;
  char uri[1024];
  const issize_t n = url_e(uri, sizeof uri, sip->sip_request->rq_url);
  f.add(std::string_view(uri, n > 0 ? std::min<std::size_t>(n, sizeof uri - 1) : 0));
  f.add(sip->sip_to->a_tag);
  f.add(sip->sip_from->a_tag);
  f.add(sip->sip_call_id->i_id);
  f.add(std::to_string(sip->sip_cseq->cs_seq));
  for (sip_proxy_require_t const* r = sip->sip_proxy_require; r; r = r->k_next) {
    for (msg_param_t const* p = r->k_items; p && *p; ++p)
      f.add(*p);
  }
  for (sip_proxy_authorization_t const* a = sip->sip_proxy_authorization; a; a = a->au_next) {
    for (msg_param_t const* p = a->au_params; p && *p; ++p)
      f.add(*p);
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(f.h));
  return hex;
}

// A From tag as it may stand in a URI parameter (ftag=...).
std::string escapeTag(const char* tag) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char* p = tag ? tag : ""; *p; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (std::isalnum(c) || std::strchr("-_.!~*'()+", c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string hostPort(const FlowAddress& f) {
  const bool v6 = f.host.find(':') != std::string::npos;
  return (v6 ? "[" + f.host + "]" : f.host) + ":" + std::to_string(f.port);
}

Transport transportOfUri(url_t const* url) {
  char value[16] = "";
  if (url->url_type == url_sips) return Transport::Tls;
  if (url->url_params && url_param(url->url_params, "transport", value, sizeof value) > 0) {
    if (!strcasecmp(value, "tcp")) return Transport::Tcp;
    if (!strcasecmp(value, "tls")) return Transport::Tls;
  }
  return Transport::Udp;
}

bool createsDialog(sip_method_t m) {
  return m == sip_method_invite || m == sip_method_subscribe || m == sip_method_refer;
}

}  // namespace

std::string Target::key() const {
  return uri + "|" + (flowAddress.empty() ? "" : hostPort(flowAddress));
}

Target targetOf(const Binding& b, const Wakeups* wakeups) {
  Target t;
  t.uri = b.contact;
  t.path = b.path;
  t.flow = b.flow;
  t.flowAddress = {b.transport, b.sourceHost, b.sourcePort};
  if (wakeups && wakeups->needsWake(b)) t.wake = b.id;
  t.device = b.deviceIdentity();
  if (!b.instance.empty()) t.gruu = b.aor + ";gr=" + b.instance;
  return t;
}

struct Proxy::Inbound {
  msg_t* msg = nullptr;
  sip_t* sip = nullptr;
  Source source;
  bool invite = false;
  bool ack = false;
  std::string loopHash;
  std::optional<DialogFlows> flows;  // the flows our Route named: a dialog we record-routed
  std::string ftag;                  // that Route's ftag (escaped)
  bool unknownToken = false;         // a Route of ours whose token no key we hold verifies
};

Proxy::Proxy(const ProxyConfig& config, const RegistrarConfig& registrar, const SipAuthConfig& auth,
             Core& core, const RequestAuthorizer& authorizer, const Clock& clock, su_root_t* root,
             nta_agent_t* agent, std::vector<DialogKey> keys)
    : config_(config),
      core_(core),
      authorizer_(authorizer),
      clock_(clock),
      auth_(auth),
      root_(root),
      agent_(agent),
      keys_(std::move(keys)),
      accessibleSince_(clock.now()),
      branchCounter_(std::random_device{}() & 0xffffff) {
  if (keys_.empty()) keys_.push_back({1, RouteTokens::randomKey(), clock_.now()});
  tokens_.setKeys(keys_);
  if (!registrar.domain.empty()) {
    domains_.push_back(lower(registrar.domain));
    for (const auto& d : config_.domains)
      domains_.push_back(lower(d));
  }
  for (const ProxyUser& u : config_.users)
    users_.emplace(u.aor, &u);
  for (sip_via_t const* v = nta_agent_via(agent_); v; v = v->v_next) {
    const char* proto = sip_via_transport(v);
    Address a;
    a.transport = !strcasecmp(proto, "TCP")   ? Transport::Tcp
                  : !strcasecmp(proto, "TLS") ? Transport::Tls
                                              : Transport::Udp;
    a.host = std::string(unbracket(v->v_host));
    a.port = v->v_port ? v->v_port : a.transport == Transport::Tls ? "5061" : "5060";
    a.v6 = a.host.find(':') != std::string::npos;
    addresses_.push_back(std::move(a));
  }
}

Proxy::~Proxy() {
  *alive_ = false;
  while (!contexts_.empty())
    (*contexts_.begin())->shutdown();  // forgets itself
  dialogConnections_.releaseAll();
}

void Proxy::tick() {
  dialogConnections_.tick();
  if (storingKeys_) return;
  std::vector<DialogKey> next = keys_;
  if (!rotateDialogKeys(next, clock_.now(), config_.dialogKeyLifetime, RouteTokens::randomKey))
    return;
  storeKeys(std::move(next));
}

bool Proxy::rotateKey() {
  if (storingKeys_) return false;
  std::vector<DialogKey> next = keys_;
  addDialogKey(next, clock_.now(), RouteTokens::randomKey);
  rotateDialogKeys(next, clock_.now(), config_.dialogKeyLifetime, RouteTokens::randomKey);
  storeKeys(std::move(next));
  return true;
}

void Proxy::storeKeys(std::vector<DialogKey> next) {
  // Stored before it signs: a token must outlive a crash right after it.
  storingKeys_ = true;
  core_.saveDialogKeys(next);
  core_.afterCommit([this, alive = alive_, next](bool stored) {
    if (!*alive) return;
    storingKeys_ = false;
    if (!stored) return;  // tried again at the next tick
    keys_ = next;
    tokens_.setKeys(keys_);
    spdlog::info("proxy: Record-Route key generation {} signs from now on ({} kept)",
                 keys_.back().generation, keys_.size());
  });
}

// ---------------------------------------------------------------------------
// Who we are

bool Proxy::isOurAddress(const char* host, const char* port, bool secure) const {
  if (!host) return false;
  const std::string_view h = unbracket(host);
  const std::string_view p = port && *port ? port : secure ? "5061" : "5060";
  return std::any_of(addresses_.begin(), addresses_.end(), [&](const Address& a) {
    return a.port == p && a.host.size() == h.size() &&
           !strncasecmp(a.host.data(), h.data(), h.size());
  });
}

bool Proxy::isOurRoute(url_t const* url) const {
  if (!url || (url->url_type != url_sip && url->url_type != url_sips) || !url->url_host)
    return false;
  if (isOurAddress(url->url_host, url->url_port, transportOfUri(url) == Transport::Tls))
    return true;
  // "sip:example.com;lr": the proxy of our domain.
  return !url->url_user && !url->url_port &&
         std::find(domains_.begin(), domains_.end(), lower(url->url_host)) != domains_.end();
}

bool Proxy::servesDomain(url_t const* url) const {
  if (domains_.empty()) return true;  // no sip.domain: every domain is ours
  if (!url || !url->url_host) return false;
  if (std::find(domains_.begin(), domains_.end(), lower(url->url_host)) != domains_.end())
    return true;
  return isOurAddress(url->url_host, url->url_port, transportOfUri(url) == Transport::Tls);
}

bool Proxy::isKnown(const std::string& aor) const {
  if (users_.count(aor)) return true;
  if (!auth_.auth) return false;
  const std::string user = directoryNumberOf(aor);
  return std::any_of(auth_.auth->users.begin(), auth_.auth->users.end(),
                     [&](const DigestUser& u) { return u.user == user; });
}

const Proxy::Address* Proxy::addressFor(Transport transport, bool v6) const {
  const Address* sameFamily = nullptr;
  for (const Address& a : addresses_) {
    if (a.v6 != v6) continue;
    if (a.transport == transport) return &a;
    if (!sameFamily) sameFamily = &a;
  }
  return sameFamily ? sameFamily : addresses_.empty() ? nullptr : &addresses_.front();
}

std::string Proxy::recordRouteUri(Transport transport, bool v6, const std::string& token,
                                  const std::string& ftag) const {
  const Address* a = addressFor(transport, v6);
  if (!a) return "";
  std::string uri = "<sip:" + token + "@" + (a->v6 ? "[" + a->host + "]" : a->host) + ":" + a->port;
  if (a->transport != Transport::Udp) uri += std::string(";transport=") + toString(a->transport);
  return uri + ";lr;ftag=" + ftag + ">";
}

std::string Proxy::ourUri(const std::string& user, Transport transport, bool v6) const {
  const Address* a = addressFor(transport, v6);
  if (!a) return "";
  std::string uri = "<sip:" + user + "@" + (a->v6 ? "[" + a->host + "]" : a->host) + ":" + a->port;
  if (a->transport != Transport::Udp) uri += std::string(";transport=") + toString(a->transport);
  return uri + ">";
}

// ---------------------------------------------------------------------------
// Answers of our own

void Proxy::reject(Inbound& in, int status, const char* phrase, const char* extraHeader,
                   const std::vector<std::string>* challenges) {
  if (spdlog::should_log(spdlog::level::debug)) {
    spdlog::debug("proxy: {} {} from {}:{}: {} {}", in.sip->sip_request->rq_method_name,
                  urlString(in.sip->sip_request->rq_url), in.source.host, in.source.port, status,
                  phrase ? phrase : "");
  }
  if (in.ack) {  // an ACK is never answered
    nta_msg_discard(agent_, in.msg);
    return;
  }
  std::string auth;
  for (const auto& c : challenges ? *challenges : std::vector<std::string>{})
    auth += (auth.empty() ? "" : "\r\n") + std::string("Proxy-Authenticate: ") + c;
  // Statelessly, as the registrar answers (RFC 3261 8.2.7): nothing is
  // kept for 32 s per refused request, a retransmission is refused again,
  // and the ACK of a refused INVITE is dropped (forwardAck: not a dialog of
  // ours).
  nta_msg_treply(agent_, in.msg, status, phrase,
                 TAG_IF(extraHeader, SIPTAG_HEADER_STR(extraHeader)),
                 TAG_IF(!auth.empty(), SIPTAG_HEADER_STR(auth.c_str())),
                 SIPTAG_SERVER_STR("beckon/" BECKON_VERSION), TAG_END());
}

// An OPTIONS for this server: answered as its final recipient would
// (RFC 3261 11), with the UAS checks of 8.2 the SIP server makes on
// REGISTER and SUBSCRIBE: a header that does not parse 400, a Require it
// cannot meet 420 (8.2.2.3).
void Proxy::answerOptions(Inbound& in) {
  if (in.sip->sip_error) {
    const auto* h = reinterpret_cast<sip_header_t const*>(in.sip->sip_error);
    const char* name = h->sh_class == sip_error_class ? h->sh_error->er_name : h->sh_class->hc_name;
    const std::string phrase = std::string("Bad ") + (name && *name ? name : "Header") + " Header";
    return reject(in, 400, phrase.c_str());
  }
  if (in.sip->sip_require) {
    std::string unsupported = "Unsupported: ";
    bool first = true;
    for (msg_param_t const* k = in.sip->sip_require->k_items; k && *k; ++k, first = false)
      unsupported += (first ? "" : ", ") + std::string(*k);
    return reject(in, SIP_420_BAD_EXTENSION, unsupported.c_str());
  }
  nta_msg_treply(agent_, in.msg, SIP_200_OK, SIPTAG_ALLOW_STR(kAllow),
                 SIPTAG_SERVER_STR("beckon/" BECKON_VERSION), TAG_END());
}

// ---------------------------------------------------------------------------
// 16.3 Request Validation

void Proxy::onRequest(msg_t* msg, sip_t* sip) {
  Inbound in;
  in.msg = msg;
  in.sip = sip;
  in.source = sourceOf(agent_, msg);
  const sip_method_t method = sip->sip_request->rq_method;
  in.invite = method == sip_method_invite;
  in.ack = method == sip_method_ack;
  // The dialog ends with its BYE (RFC 3261 15): its connections are no
  // longer held against the idle timeout (they carry the BYE's answer now).
  if (method == sip_method_bye) dialogConnections_.release(sip);

  // 1. Reasonable Syntax: Sofia has parsed it; what a proxy reads is there.
  if (!sip->sip_from || !sip->sip_to || !sip->sip_call_id || !sip->sip_cseq || !sip->sip_via)
    return reject(in, SIP_400_BAD_REQUEST);

  // 2. URI scheme check: sip and sips only.
  url_t const* ruri = sip->sip_request->rq_url;
  if (ruri->url_type != url_sip && ruri->url_type != url_sips)
    return reject(in, SIP_416_UNSUPPORTED_URI);

  // 3. Max-Forwards check: "If the Max-Forwards value is 0, the proxy ...
  // MUST return 483 (Too many hops)", except an OPTIONS, which it may
  // answer as its final recipient.
  if (sip->sip_max_forwards && sip->sip_max_forwards->mf_count == 0) {
    if (method == sip_method_options) return answerOptions(in);
    return reject(in, SIP_483_TOO_MANY_HOPS);
  }

  // 4. Optional Loop Detection check: a Via of ours whose branch starts with
  // this very request's hash (16.6 step 8) means the request came back
  // unchanged: a loop. Another hash means a spiral (it was retargeted).
  in.loopHash = loopHashOf(sip);
  const std::string ours = kMagicCookie + in.loopHash + ".";
  for (sip_via_t const* v = sip->sip_via; v; v = v->v_next) {
    if (v->v_branch && !strncasecmp(v->v_branch, ours.c_str(), ours.size()) &&
        isOurAddress(v->v_host, v->v_port, !strcasecmp(sip_via_transport(v), "TLS"))) {
      return reject(in, SIP_482_LOOP_DETECTED);
    }
  }

  // 5. Proxy-Require check: this proxy supports no extension that a request
  // may require of proxies: 420 with Unsupported naming them.
  if (sip->sip_proxy_require) {
    std::string unsupported = "Unsupported: ";
    bool first = true;
    for (sip_proxy_require_t const* r = sip->sip_proxy_require; r; r = r->k_next) {
      for (msg_param_t const* p = r->k_items; p && *p; ++p, first = false)
        unsupported += (first ? "" : ", ") + std::string(*p);
    }
    return reject(in, SIP_420_BAD_EXTENSION, unsupported.c_str());
  }

  // 6. Proxy-Authorization check: in determineTargets(), where the proxy
  // knows whether the request stays in a dialog, comes from our domain or
  // leaves it.
  if (!preprocessRoute(in)) return;
  if (in.ack) return forwardAck(in);
  determineTargets(in);
}

// ---------------------------------------------------------------------------
// 16.4 Route Information Preprocessing

bool Proxy::preprocessRoute(Inbound& in) {
  msg_t* msg = in.msg;
  sip_t* sip = in.sip;
  auto takeToken = [&](url_t const* url) {
    if (in.flows || !url->url_user) return;
    char ftag[256] = "";
    if (url->url_params) url_param(url->url_params, "ftag", ftag, sizeof ftag);
    in.flows = tokens_.decode(url->url_user, ftag);
    if (in.flows) in.ftag = ftag;
    in.unknownToken = !in.flows && url->url_user[0] == 'b';
  };
  // "If the Request-URI contains a value this proxy previously placed into a
  // Record-Route header field, the proxy MUST replace the Request-URI in the
  // request with the last value from the Route header field, and remove that
  // value from the Route header field" (the previous hop is a strict router).
  url_t const* ruri = sip->sip_request->rq_url;
  if (sip->sip_route && ruri->url_user && ruri->url_user[0] == 'b' && isOurRoute(ruri)) {
    takeToken(ruri);
    if (in.flows) {
      sip_route_t* last = sip->sip_route;
      while (last->r_next)
        last = last->r_next;
      sip_request_t* rq = sip_request_create(
          msg_home(msg), sip->sip_request->rq_method, sip->sip_request->rq_method_name,
          reinterpret_cast<url_string_t const*>(last->r_url), nullptr);
      if (!rq || msg_header_insert(msg, reinterpret_cast<msg_pub_t*>(sip),
                                   reinterpret_cast<msg_header_t*>(rq)) < 0) {
        reject(in, SIP_500_INTERNAL_SERVER_ERROR);
        return false;
      }
      msg_header_remove(msg, reinterpret_cast<msg_pub_t*>(sip),
                        reinterpret_cast<msg_header_t*>(last));
    }
  }
  // "If the first value in the Route header field indicates this proxy, the
  // proxy MUST remove that value from the request." With two Record-Routes
  // of ours (transports differing on the two sides, RFC 5658), both go.
  while (sip->sip_route && isOurRoute(sip->sip_route->r_url)) {
    takeToken(sip->sip_route->r_url);
    sip_route_remove(msg, sip);
  }
  // A dialog we record-routed with a key we no longer hold (a store
  // restored without its keys, a key past its lifetime) or never made: 481
  // with the time since which we know our dialogs (draft-ietf-sipcore
  // dialog reconstruction; an HTTP-date as Date has, RFC 7231 7.1.1.1). The
  // user agent may then rebuild the dialog (REFER with its call state).
  if (in.unknownToken && !in.flows && sip->sip_to->a_tag &&
      sip->sip_request->rq_method != sip_method_cancel) {
    char date[64];
    const auto unix = std::chrono::system_clock::to_time_t(accessibleSince_);
    msg_date_e(date, sizeof date, static_cast<msg_time_t>(unix) + SU_TIME_EPOCH);
    const std::string since = std::string("Accessible-Since: ") + date;
    reject(in, SIP_481_NO_TRANSACTION, since.c_str());
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// 16.3 step 6: Proxy-Authorization, and the domain policy

bool Proxy::authenticate(Inbound& in, bool leaving) {
  sip_t* sip = in.sip;
  const sip_method_t method = sip->sip_request->rq_method;
  if (!config_.authenticate || method == sip_method_cancel) return true;
  // Calls from other domains to our users, and requests inside dialogs,
  // pass; callers of our domain, and everything this proxy would relay
  // elsewhere, prove who they are.
  const bool inDialog = sip->sip_to->a_tag != nullptr;
  const bool fromOurs = servesDomain(sip->sip_from->a_url);
  if (!leaving && (inDialog || !fromOurs)) return true;
  const char* user = sip->sip_from->a_url->url_user;
  const auto decision = authorizer_.checkCaller(sip, user ? user : "", in.source.host);
  if (decision.status) {
    reject(in, decision.status, decision.phrase, nullptr, &decision.challenges);
    return false;
  }
  // 22.3: credentials for our realm were meant for us: not forwarded.
  const std::string quoted = "\"" + authorizer_.realm() + "\"";
  for (sip_proxy_authorization_t* a = sip->sip_proxy_authorization; a;) {
    sip_proxy_authorization_t* next = a->au_next;
    const char* realm = msg_params_find(a->au_params, "realm=");
    if (realm && (authorizer_.realm() == realm || quoted == realm)) {
      msg_header_remove(in.msg, reinterpret_cast<msg_pub_t*>(sip),
                        reinterpret_cast<msg_header_t*>(a));
    }
    a = next;
  }
  return true;
}

// ---------------------------------------------------------------------------
// 16.5 Determining Request Targets

bool Proxy::reachable(const Binding& b, TimePoint now) const {
  if (b.explicitSubscription() || b.expires <= now) return false;
  const Wakeups* wakeups = core_.wakeups();
  return !b.unreachable || (wakeups && wakeups->needsWake(b));
}

std::vector<Target> Proxy::bindingsOf(const std::string& aor, const std::string& instance,
                                      std::vector<float>* qs) const {
  const TimePoint now = clock_.now();
  std::vector<const Binding*> live;
  for (const Binding* b : core_.bindings().byAor(aor)) {
    if (!reachable(*b, now)) continue;
    if (!instance.empty() && b->instance != instance) continue;
    // RFC 5626 5.3: one flow per device, its most recently registered.
    auto same = std::find_if(live.begin(), live.end(), [&](const Binding* o) {
      return o->deviceIdentity() == b->deviceIdentity();
    });
    if (same == live.end()) {
      live.push_back(b);
    } else if ((*same)->updated < b->updated) {
      *same = b;
    }
  }
  // Highest q first; among equals, the most recently registered.
  std::sort(live.begin(), live.end(), [](const Binding* a, const Binding* b) {
    return a->q != b->q ? a->q > b->q : a->updated > b->updated;
  });
  std::vector<Target> targets;
  targets.reserve(live.size());
  for (const Binding* b : live) {
    targets.push_back(targetOf(*b, core_.wakeups()));
    if (qs) qs->push_back(b->q);
  }
  return targets;
}

std::vector<Target> Proxy::resolve(const std::string& uri, bool trusted) const {
  Home home;
  url_t* url = url_hdup(home.get(), URL_STRING_MAKE(uri.c_str())->us_url);
  if (!url || (url->url_type != url_sip && url->url_type != url_sips)) return {};
  if (url->url_user && servesDomain(url)) {
    const auto aor = normaliseAor(uri);
    return aor ? bindingsOf(*aor, "") : std::vector<Target>{};
  }
  if (!trusted && !config_.relay) return {};
  Target t;
  t.uri = uri;
  return {t};
}

void Proxy::determineTargets(Inbound& in) {
  sip_t* sip = in.sip;
  url_t const* ruri = sip->sip_request->rq_url;

  // Along a dialog this proxy record-routed: "the Request-URI ... is placed
  // into the target set as the only target", sent over the flow toward the
  // other party (by its From tag: from the caller, toward the callee).
  if (in.flows) {
    Target t;
    const bool fromCaller = escapeTag(sip->sip_from->a_tag) == in.ftag;
    t.flowAddress = fromCaller ? in.flows->callee : in.flows->caller;
    if (!t.flowAddress.empty() && t.flowAddress.transport != Transport::Udp &&
        !connectionTo(t.flowAddress)) {
      return reject(in, 430, "Flow Failed");  // RFC 5626 5.3
    }
    return start(in, {TargetGroup{{t}, {}}}, nullptr, true);
  }

  // "If the domain of the Request-URI indicates a domain this element is not
  // responsible for, the Request-URI MUST be placed into the target set as
  // the only target" (and a Route left after ours names the next hop).
  const bool leaving = sip->sip_route != nullptr || !servesDomain(ruri);
  // An OPTIONS for a server (no user part), not to be relayed: to us (a
  // keep-alive or a monitor's ping, whatever name it used for us).
  if (sip->sip_request->rq_method == sip_method_options && !ruri->url_user && !sip->sip_route &&
      !config_.relay) {
    return answerOptions(in);
  }
  if (!authenticate(in, leaving)) return;
  if (leaving) {
    // Relaying is off by default: 404, as RFC 3261 21.4.5 says for "the
    // domain in the Request-URI does not match any of the domains handled
    // by the recipient of the request".
    if (!config_.relay) return reject(in, 404, "Not Found (not a domain of this proxy)");
    return start(in, {TargetGroup{{Target{}}, {}}}, nullptr, false);
  }

  // Our domain: the location service (the binding table) gives the targets.
  if (!ruri->url_user || !*ruri->url_user) {
    if (sip->sip_request->rq_method == sip_method_options) return answerOptions(in);
    return reject(in, 404, "Not Found (no user part)");
  }
  const std::string uri = urlString(ruri);
  const std::optional<std::string> aor = normaliseAor(uri);
  if (!aor) return reject(in, 404, "Not Found");

  // A GRUU (RFC 5627) names one device: its newest binding, no forwarding.
  if (ruri->url_params && url_has_param(ruri, "gr")) {
    const std::vector<DeviceKey> keys = lookupKeys(uri);
    const TimePoint now = clock_.now();
    const Binding* newest = nullptr;
    for (const Binding* b : core_.bindings().find(keys)) {
      if (!reachable(*b, now)) continue;
      if (!keys.empty() && keys.front().kind == DeviceIdKind::Instance && b->aor != *aor) continue;
      if (!newest || newest->updated < b->updated) newest = b;
    }
    if (!newest) return reject(in, 480, "Temporarily Unavailable");
    return start(in, {TargetGroup{{targetOf(*newest, core_.wakeups())}, {}}}, nullptr, false);
  }

  const auto found = users_.find(*aor);
  const ProxyUser* rule = in.invite && found != users_.end() ? found->second : nullptr;
  std::vector<TargetGroup> groups;
  if (found != users_.end() && !found->second->targets.empty()) {
    // A hunt group: its members, resolved when each one's turn comes.
    const auto& members = found->second->targets;
    if (!rule) {
      groups.push_back({{}, members});  // other methods: every member at once
    } else {
      for (const auto& group : forkPlan(rule->fork, std::vector<float>(members.size(), 1.0f))) {
        TargetGroup g;
        for (std::size_t i : group)
          g.members.push_back(members[i]);
        groups.push_back(std::move(g));
      }
    }
  } else {
    // Mobility: where the address of record is registered now.
    std::vector<float> qs;
    std::vector<Target> targets = bindingsOf(*aor, "", &qs);
    if (targets.empty()) {
      // Not registered: voicemail when the user has one, else 480 for a user
      // we know (configured, or with credentials) and 404 for anybody else.
      if (rule && !rule->voicemail.empty()) return start(in, {}, rule, false);
      if (isKnown(*aor)) return reject(in, 480, "Temporarily Unavailable");
      return reject(in, 404, "Not Found");
    }
    if (!in.invite) {
      groups.push_back({std::move(targets), {}});
    } else {
      for (const auto& group : forkPlan(rule ? rule->fork : ForkMode::QValue, qs)) {
        TargetGroup g;
        for (std::size_t i : group)
          g.targets.push_back(targets[i]);
        groups.push_back(std::move(g));
      }
    }
  }
  // A user in "b2bua" mode: the B2BUA makes the call (sip/b2bua/).
  if (b2bua_ && in.invite && !sip->sip_to->a_tag &&
      b2bua_->handles(found != users_.end() ? found->second : nullptr)) {
    return b2bua_->onInvite(in.msg, sip, in.source, std::move(groups));
  }
  start(in, std::move(groups), rule, false);
}

// ---------------------------------------------------------------------------
// 16.6 Request Forwarding (steps 1-5; the rest is nta's and the context's)

void Proxy::start(Inbound& in, std::vector<TargetGroup> groups, const ProxyUser* rule,
                  bool dialog) {
  sip_t* sip = in.sip;
  // Step 3, Max-Forwards: decremented once for every branch; "If the copy
  // does not contain a Max-Forwards header field, the proxy MUST add one
  // with a field value, which SHOULD be 70."
  if (sip->sip_max_forwards) {
    sip->sip_max_forwards->mf_count--;
    msg_fragment_clear(sip->sip_max_forwards->mf_common);
  } else {
    sip_add_tl(in.msg, sip, SIPTAG_MAX_FORWARDS_STR("70"), TAG_END());
  }
  RecordRouting rr;
  rr.on = config_.recordRoute && !dialog && !sip->sip_to->a_tag &&
          createsDialog(sip->sip_request->rq_method);
  rr.caller = {in.source.transport, in.source.host, in.source.port};
  rr.ftag = escapeTag(sip->sip_from->a_tag);

  // The server transaction (16.2: "a stateful proxy ... MUST create a new
  // server transaction"): it absorbs retransmissions and takes the CANCEL.
  nta_incoming_t* irq =
      nta_incoming_create(agent_, nullptr, in.msg, sip,
                          TAG_IF(in.source.tport, NTATAG_TPORT(in.source.tport)), TAG_END());
  if (!irq) return;
  msg_t* request = nta_incoming_getrequest(irq);
  // 100 (Trying) for an INVITE: nta sends it when nothing else went back
  // within 200 ms (RFC 3261 17.2.1: "unless it knows that the TU will
  // generate a provisional or final response within 200 ms"); a callee that
  // answers at once spares the caller and us one message.
  spdlog::debug("proxy: {} {} from {}:{}: {} group(s){}", sip->sip_request->rq_method_name,
                urlString(sip->sip_request->rq_url), in.source.host, in.source.port, groups.size(),
                dialog ? " (in dialog)" : "");
  auto* ctx = new ResponseContext(*this, irq, request, in.invite, in.loopHash, std::move(groups),
                                  rule, std::move(rr));
  contexts_.insert(ctx);
  ctx->start();
}

std::string Proxy::branchId(const std::string& loopHash) {
  char n[24];
  std::snprintf(n, sizeof n, ".%llx", static_cast<unsigned long long>(++branchCounter_));
  return kMagicCookie + loopHash + n;
}

msg_t* Proxy::branchRequest(msg_t* request, const Target& target, const RecordRouting& rr) const {
  // Step 1, "Copy request".
  msg_t* msg = msg_copy(request);
  if (!msg) return nullptr;
  sip_t* sip = sip_object(msg);
  su_home_t* home = msg_home(msg);
  auto* pub = reinterpret_cast<msg_pub_t*>(sip);
  // Step 2, "Update the Request-URI": the target's.
  if (!target.uri.empty()) {
    sip_request_t* rq =
        sip_request_create(home, sip->sip_request->rq_method, sip->sip_request->rq_method_name,
                           URL_STRING_MAKE(target.uri.c_str()), nullptr);
    if (!rq || msg_header_insert(msg, pub, reinterpret_cast<msg_header_t*>(rq)) < 0) {
      msg_destroy(msg);
      return nullptr;
    }
  }
  // Step 4, "Record-Route": on top of those present, with the flows of
  // both sides in its user part. When the two sides use different
  // transports, one for each (RFC 5658 double record-routing), the callee's
  // on top.
  if (rr.on) {
    const std::string token = tokens_.encode({rr.caller, target.flowAddress}, rr.ftag);
    const bool callerV6 = rr.caller.host.find(':') != std::string::npos;
    const Transport out = !target.flowAddress.empty() ? target.flowAddress.transport
                                                      : transportOfUri(sip->sip_request->rq_url);
    const bool outV6 = !target.flowAddress.empty()
                           ? target.flowAddress.host.find(':') != std::string::npos
                           : callerV6;
    const std::string callerSide = recordRouteUri(rr.caller.transport, callerV6, token, rr.ftag);
    const std::string calleeSide = recordRouteUri(out, outV6, token, rr.ftag);
    std::string value = calleeSide;
    if (calleeSide != callerSide) value += ", " + callerSide;
    sip_record_route_t* r = token.empty() ? nullptr : sip_record_route_make(home, value.c_str());
    if (r) {
      msg_header_prepend(msg, pub, reinterpret_cast<msg_header_t**>(&sip->sip_record_route),
                         reinterpret_cast<msg_header_t*>(r));
    }
  }
  // Step 5, "Add Additional Header Fields": a binding's Path becomes the
  // first Route entries (RFC 3327 5.3).
  if (!target.path.empty()) {
    std::string value;
    for (const auto& hop : target.path)
      value += (value.empty() ? "" : ", ") + hop;
    sip_route_t* r = sip_route_make(home, value.c_str());
    if (!r) {
      msg_destroy(msg);
      return nullptr;
    }
    msg_header_prepend(msg, pub, reinterpret_cast<msg_header_t**>(&sip->sip_route),
                       reinterpret_cast<msg_header_t*>(r));
  }
  // Steps 6-10 (postprocess routing, Via, Content-Length, forward, Timer C)
  // are nta's, in ResponseContext::launch().
  return msg;
}

tport_t* Proxy::connectionTo(const FlowAddress& flow) const {
  const std::string port = std::to_string(flow.port);
  tp_name_t tpn = {};
  tpn.tpn_proto = flow.transport == Transport::Tls ? "tls" : "tcp";
  tpn.tpn_canon = flow.host.c_str();
  tpn.tpn_host = flow.host.c_str();
  tpn.tpn_port = port.c_str();
  tport_t* tp = tport_by_name(nta_agent_tports(agent_), &tpn);
  return tp && tport_is_secondary(tp) && !tport_is_closed(tp) ? tp : nullptr;
}

// ---------------------------------------------------------------------------
// 16.11 Stateless Proxy: the ACK of a 2xx, and responses without a transaction

void Proxy::forwardAck(Inbound& in) {
  // An ACK that matched no server transaction acknowledges a 2xx: it is its
  // own transaction and goes on statelessly, along the dialog.
  sip_t* sip = in.sip;
  FlowAddress to;
  if (in.flows) {
    const bool fromCaller = escapeTag(sip->sip_from->a_tag) == in.ftag;
    to = fromCaller ? in.flows->callee : in.flows->caller;
  } else if (!config_.relay) {
    if (spdlog::should_log(spdlog::level::debug)) {
      spdlog::debug("proxy: ACK {} from {}:{} is not for a dialog of ours: dropped",
                    urlString(sip->sip_request->rq_url), in.source.host, in.source.port);
    }
    nta_msg_discard(agent_, in.msg);
    return;
  }
  if (sip->sip_max_forwards) {
    sip->sip_max_forwards->mf_count--;
    msg_fragment_clear(sip->sip_max_forwards->mf_common);
  }
  std::string hop;
  tport_t* tport = nullptr;
  if (!to.empty() && to.transport == Transport::Udp) {
    hop = "sip:" + hostPort(to) + ";transport=udp";
  } else if (!to.empty()) {
    tport = connectionTo(to);
    if (!tport) {
      nta_msg_discard(agent_, in.msg);
      return;
    }
  }
  nta_msg_tsend(agent_, in.msg, hop.empty() ? nullptr : URL_STRING_MAKE(hop.c_str()),
                TAG_IF(tport, NTATAG_TPORT(tport)), TAG_END());
}

void Proxy::onResponse(msg_t* msg, sip_t* sip) {
  // 16.7 step 1: "If none is found, the element MUST process the response
  // (even if it is an informational response) as a stateless proxy": if
  // the topmost Via is ours, it goes to the next one (16.11).
  sip_via_t const* v = sip->sip_via;
  if (!v || !v->v_next ||
      !isOurAddress(v->v_host, v->v_port, !strcasecmp(sip_via_transport(v), "TLS"))) {
    nta_msg_discard(agent_, msg);
    return;
  }
  nta_msg_tsend(agent_, msg, nullptr, TAG_END());
}

}  // namespace beckon::sip
