// The back-to-back user agent (sip-core.md, "a back-to-back user agent for
// the calls that need one"; docs/b2bua.md). A dialog-creating INVITE for an
// address of record in "b2bua" mode ([proxy] mode, [[proxy.user]] mode)
// comes here from the proxy, once the proxy has validated it (RFC 3261
// 16.3), authenticated the caller and chosen the callee's targets (its
// bindings, forked as configured). Each call then owns two dialogs of its
// own on the SIP thread's nta agent (docs/decisions.md says why nta and not
// nua): the caller's, where beckond is the UAS, and the callee's, where it
// is the UAC with a new Call-ID, tags, CSeq and its own Contact.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "forking.h"
#include "proxy.h"
#include "sofia.h"

namespace beckon {
class Metrics;
}

namespace beckon::sip::b2bua {

class Call;

class B2bua {
 public:
  B2bua(const ProxyConfig& config, Proxy& proxy, Core& core, nta_agent_t* agent);
  ~B2bua();  // ends the calls still up (beckond stops)
  B2bua(const B2bua&) = delete;
  B2bua& operator=(const B2bua&) = delete;

  // Whether calls to the address of record of `user` (null: one without a
  // [[proxy.user]]) go through the B2BUA.
  bool handles(const ProxyUser* user) const;
  // A dialog-creating INVITE to such an address of record, with the groups
  // of targets the proxy chose (tried one group after another, the targets
  // of a group at once). Consumes `msg`.
  void onInvite(msg_t* msg, sip_t* sip, const Source& source, std::vector<TargetGroup> groups);

  std::size_t calls() const { return calls_.size(); }
  // The SIP thread's timer: the calls that ended go (out of Sofia's
  // callbacks, where their legs and transactions may still be in use).
  void tick();

  // For the calls.
  Proxy& proxy() const { return proxy_; }
  nta_agent_t* agent() const { return agent_; }
  Metrics* metrics() const;
  const B2buaConfig& config() const { return config_.b2bua; }
  // A call that is over: no longer counted, deleted by the next tick().
  void ended(Call* call);

 private:
  const ProxyConfig& config_;
  Proxy& proxy_;
  Core& core_;
  nta_agent_t* agent_;
  std::uint64_t nextId_ = 1;
  std::unordered_map<Call*, std::unique_ptr<Call>> calls_;
  std::vector<std::unique_ptr<Call>> ended_;
};

}  // namespace beckon::sip::b2bua
