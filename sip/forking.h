// Forking and forwarding per address of record (sip-core.md, "Forking and
// forwarding") and the choice of the best response (RFC 3261 16.7 step 6).
// Pure C++: no Sofia, no sockets. The proxy asks; the unit tests check.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace beckon::sip {

// How the targets of an address of record are tried (reSIProcate repro's model).
enum class ForkMode {
  Parallel,    // every target at once ("full parallel")
  Sequential,  // one after another, highest q first: a hunt group
  QValue,      // the targets of equal q at once, one q after another, highest
               // first (RFC 3261 16.6: "in order of q-value")
};

const char* toString(ForkMode mode);
// "parallel", "sequential", "q".
std::optional<ForkMode> forkModeFrom(std::string_view name);

// The order in which targets are tried: groups of indexes into `qValues`;
// the targets of one group ring at once, the groups one after another.
// Within one q-value the input order is kept (the caller puts the most
// recently registered binding, or the first listed member, first). q-values
// are compared to the thousandth, as RFC 3261 writes them.
std::vector<std::vector<std::size_t>> forkPlan(ForkMode mode, const std::vector<float>& qValues);

// RFC 3261 16.7 step 6, "Choosing the best response", among the final
// non-2xx responses (300-699) of a response context, in the order they
// arrived: a 6xx if there is one (the first); else one of the lowest class,
// preferring 401, 407, 415, 420 and 484 among 4xx (their
// challenges and corrections let the caller retry), else the first received.
// Returns the index in `statuses`; `statuses` must not be empty.
std::size_t bestResponse(const std::vector<int>& statuses);

// A call the callee is busy for: forwarded to voicemail when there is one.
inline bool isBusy(int status) {
  return status == 486 || status == 600;
}
// A call nobody answered: forwarded on no answer.
inline bool isNoAnswer(int status) {
  return status == 408 || status == 480 || status == 487;
}

// Who carries a call: the proxy (RFC 3261 16), or the back-to-back user
// agent (sip/b2bua/), which owns a dialog with each party.
enum class CallMode { Proxy, B2bua };

const char* toString(CallMode mode);
// "proxy", "b2bua".
std::optional<CallMode> callModeFrom(std::string_view name);

// [b2bua]: the back-to-back user agent (docs/b2bua.md).
struct B2buaConfig {
  // How long a call whose callee leg was lost waits for a device to answer
  // a new leg before the caller's dialog is ended.
  std::chrono::seconds continuityTimeout{30};
  // Calls up at once at most; beyond: 503 with Retry-After.
  unsigned maxCalls = 1000;
  // RFC 4028 Session-Expires asked of both legs (0: no session timers).
  std::chrono::seconds sessionExpires{1800};
  bool operator==(const B2buaConfig&) const = default;
};

// [[proxy.user]]: how calls to one address of record are routed.
struct ProxyUser {
  std::string aor;  // normalised, "sip:user@domain"
  ForkMode fork = ForkMode::QValue;
  // A hunt group (or a pick-up of several users): these URIs instead of the
  // address of record's own bindings. URIs of our domain are the bindings of
  // that address of record when its turn comes; others are used as they are.
  std::vector<std::string> targets;
  // How long each target (sequential) or each group of equal q rings; in
  // parallel, how long all ring. 0: until they answer or fail.
  std::chrono::seconds ring{0};
  // After this long without an answer, CANCEL and send the call to
  // forwardTo (else voicemail). 0: never.
  std::chrono::seconds forwardNoAnswer{0};
  std::string forwardTo;         // on no answer
  std::string voicemail;         // on busy, on not registered, and on no answer without forwardTo
  std::optional<CallMode> mode;  // none: [proxy] mode
  bool operator==(const ProxyUser&) const = default;
};

// [proxy]: the proxy (RFC 3261 section 16) beside the registrar.
struct ProxyConfig {
  bool enabled = true;
  // Stay on the path of dialogs (Record-Route); needed to reach devices
  // behind NAT inside dialogs (their flows are named in our Record-Route).
  bool recordRoute = true;
  bool followRedirects = false;      // 3xx recursion (RFC 3261 16.5) rather than relaying the 3xx
  bool relay = false;                // forward requests for domains that are not ours
  bool authenticate = false;         // 407 for callers of our domain (needs [sip.auth])
  std::vector<std::string> domains;  // served besides sip.domain (lower case)
  std::vector<ProxyUser> users;
  // A Record-Route key signs for this long, then verifies for as long again
  // (notifier/dialog_keys.h).
  std::chrono::seconds dialogKeyLifetime{std::chrono::hours(24)};
  CallMode mode = CallMode::Proxy;  // for users whose [[proxy.user]] names none
  B2buaConfig b2bua;
  bool operator==(const ProxyConfig&) const = default;
};

// True for "sip:..." and "sips:..." URIs with a host ("sip:vm@10.0.0.5:5070").
bool isSipUri(std::string_view uri);

}  // namespace beckon::sip
