// The proxy: RFC 3261 section 16, "Proxy Behavior", transaction stateful, on
// the SIP thread's nta agent beside the registrar. A request for a user of
// our domain goes where the user is registered now (mobility), forked and
// forwarded as [[proxy.user]] says; a request inside a dialog follows its
// Route, over the flows our Record-Route names (devices behind NAT).
//
//   16.3  Request Validation                 Proxy::onRequest (steps 1-6)
//   16.4  Route Information Preprocessing    Proxy::preprocessRoute
//   16.5  Determining Request Targets        Proxy::determineTargets, Proxy::resolve
//   16.6  Request Forwarding                 Proxy::branchRequest, ResponseContext::launch
//   16.7  Response Processing                ResponseContext (response_context.cpp)
//   16.8  Processing Timer C                 nta (185 s in proxy mode)
//   16.9  Handling Transport Errors          nta (an internal 503 for the branch)
//   16.10 CANCEL Processing                  ResponseContext::onCancel
//   16.11 Stateless Proxy                    ACK for 2xx, responses without a transaction
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "authorizer.h"
#include "connection_guard.h"
#include "core.h"
#include "flow.h"
#include "forking.h"
#include "registrar.h"
#include "route_token.h"
#include "sofia.h"

namespace beckon::sip {

// One place a request may be sent (RFC 3261 16.5, a "target"), and how.
struct Target {
  std::string uri;                // Request-URI of its branch; empty: the request's own
  std::vector<std::string> path;  // Route entries to push first (a binding's Path, RFC 3327)
  std::shared_ptr<Flow> flow;     // a binding's flow (its connection or UDP socket)
  FlowAddress flowAddress;        // where to send; empty: by Route or Request-URI
  // A binding without a live flow, to wake by a push before its branch is
  // sent (RFC 8599 4.2.2); 0: none.
  std::uint64_t wake = 0;
  // A binding's device (its +sip.instance, else its Contact), and its
  // public GRUU (RFC 5627; empty without an instance); empty otherwise.
  std::string device;
  std::string gruu;
  // Two targets with the same key are the same place (tried once per call).
  std::string key() const;
};

// A binding as a target: its Contact, Path and flow (to wake first when
// `wakeups` says it needs a push).
Target targetOf(const Binding& b, const Wakeups* wakeups);

// Targets that ring at once: ready ones, and members (URIs) resolved when the
// group's turn comes, so that a hunt reaches where each member is then.
struct TargetGroup {
  std::vector<Target> targets;
  std::vector<std::string> members;
};

// What a forwarded request needs to be record-routed (16.6 step 4).
struct RecordRouting {
  bool on = false;
  FlowAddress caller;  // where the dialog-creating request came from
  std::string ftag;    // the caller's From tag
};

class ResponseContext;
namespace b2bua {
class B2bua;
}

class Proxy {
 public:
  // `keys`: the Record-Route keys as stored (app/ makes and stores the first
  // before the SIP thread starts); none: one drawn now, for this process only.
  Proxy(const ProxyConfig& config, const RegistrarConfig& registrar, const SipAuthConfig& auth,
        Core& core, const RequestAuthorizer& authorizer, const Clock& clock, su_root_t* root,
        nta_agent_t* agent, std::vector<DialogKey> keys = {});
  ~Proxy();  // ends the response contexts still running (shutdown)
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // A request nta holds no transaction or leg for (the registrar and event
  // server have had theirs); consumes `msg`.
  void onRequest(msg_t* msg, sip_t* sip);
  // A response no client transaction took (16.7 step 1, 16.11); consumes `msg`.
  void onResponse(msg_t* msg, sip_t* sip);

  std::size_t contexts() const { return contexts_.size(); }

  // The core's timer: a new Record-Route key once the newest is
  // proxy.dialog_key_lifetime_s old. It signs once it is stored.
  void tick();
  // The operator's rotation (SIGUSR1): a new key signs from now on, once
  // stored; the older ones verify for their lifetime. False while a
  // rotation is being stored.
  bool rotateKey();

  // For the response contexts.
  const ProxyConfig& config() const { return config_; }
  Core& core() const { return core_; }
  su_root_t* root() const { return root_; }
  nta_agent_t* agent() const { return agent_; }
  // The targets a URI names now: an address of record of ours, its bindings
  // (none when it has none); another URI, itself (when relaying is allowed,
  // or `trusted`: from the configuration).
  std::vector<Target> resolve(const std::string& uri, bool trusted) const;
  // 16.6 steps 1-5: the request for one branch (a copy of `request`); null
  // when it cannot be made.
  msg_t* branchRequest(msg_t* request, const Target& target, const RecordRouting& rr) const;
  // A unique branch id whose first part is the request's loop hash (16.6 step 8).
  std::string branchId(const std::string& loopHash);
  // The connection of a TCP or TLS flow still open, else null.
  tport_t* connectionTo(const FlowAddress& flow) const;
  void forget(ResponseContext* ctx) { contexts_.erase(ctx); }
  // The TCP and TLS connections of record-routed dialogs, held while they
  // live (a 2xx to an INVITE holds, a BYE releases).
  DialogConnections& dialogConnections() { return dialogConnections_; }
  // Where calls to b2bua-mode addresses of record go (null: none do).
  void setB2bua(b2bua::B2bua* b2bua) { b2bua_ = b2bua; }
  // "<sip:USER@HOST:PORT;transport=...>" on our listening address for
  // `transport` (of the same address family): the B2BUA's Contact.
  std::string ourUri(const std::string& user, Transport transport, bool v6) const;

 private:
  struct Inbound;
  struct Address {
    Transport transport;
    std::string host;  // without brackets
    std::string port;
    bool v6;
  };

  void reject(Inbound& in, int status, const char* phrase, const char* extraHeader = nullptr,
              const std::vector<std::string>* challenges = nullptr);
  void answerOptions(Inbound& in);
  bool preprocessRoute(Inbound& in);
  bool authenticate(Inbound& in, bool leaving);
  void determineTargets(Inbound& in);
  void forwardAck(Inbound& in);
  void start(Inbound& in, std::vector<TargetGroup> groups, const ProxyUser* rule, bool dialog);

  bool isOurAddress(const char* host, const char* port, bool secure) const;
  bool isOurRoute(url_t const* url) const;
  bool servesDomain(url_t const* url) const;
  bool isKnown(const std::string& aor) const;
  // The bindings of `aor` to call (of one instance, when given), best first,
  // and their q-values.
  std::vector<Target> bindingsOf(const std::string& aor, const std::string& instance,
                                 std::vector<float>* qs = nullptr) const;
  // Whether a request may go to `b` now, or once a push has woken it.
  bool reachable(const Binding& b, TimePoint now) const;
  std::string recordRouteUri(Transport transport, bool v6, const std::string& token,
                             const std::string& ftag) const;
  const Address* addressFor(Transport transport, bool v6) const;
  void storeKeys(std::vector<DialogKey> next);  // then tokens_ sign with the newest

  const ProxyConfig& config_;
  Core& core_;
  const RequestAuthorizer& authorizer_;
  const Clock& clock_;
  const SipAuthConfig& auth_;  // its [[sip.auth.user]]s are known users (reloaded on SIGHUP)
  su_root_t* root_;
  nta_agent_t* agent_;
  std::vector<std::string> domains_;  // lower case; empty: every domain is ours
  std::unordered_map<std::string, const ProxyUser*> users_;
  std::vector<Address> addresses_;  // ours, from the agent's transports
  RouteTokens tokens_;
  std::vector<DialogKey> keys_;  // tokens_' keys, as stored
  TimePoint accessibleSince_;    // since when a dialog we record-routed is known: our start
  bool storingKeys_ = false;     // a rotation waits for its commit
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for that commit's callback
  std::uint64_t branchCounter_;
  std::unordered_set<ResponseContext*> contexts_;
  DialogConnections dialogConnections_;
  b2bua::B2bua* b2bua_ = nullptr;
};

}  // namespace beckon::sip
