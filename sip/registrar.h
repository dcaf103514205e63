// The registrar (RFC 3261 section 10.3): bindings of addresses of record to
// contacts, and the implicit contact-me subscription a REGISTER's Accept makes.
#pragma once

#include <string>
#include <vector>

#include "core.h"
#include "authorizer.h"
#include "flow.h"
#include "request_limits.h"
#include "sofia.h"

namespace beckon::sip {

struct RegistrarConfig {
  std::vector<std::string> packages{kDefaultPackage};
  // Of `packages`: those every REGISTER subscribes its contacts to, with text
  // bodies, whatever its Accept says (phones that cannot add an Accept
  // header: baresip, Linphone; docs/phones.md).
  std::vector<std::string> everyRegistration;
  std::string domain;              // when set, only addresses of record of this domain
  unsigned minExpires = 60;        // shorter: 423 Interval Too Brief
  unsigned maxExpires = 86400;     // longer: shortened to this
  unsigned defaultExpires = 3600;  // neither parameter nor header
  // RFC 8599: the push notification services ([[push.provider]] names) a
  // Contact's pn-provider may name; another gets 555.
  std::vector<std::string> pushProviders;
};

class Registrar {
 public:
  Registrar(RegistrarConfig config, Core& core, AgentResources& resources,
            const RequestAuthorizer& authorizer, const Clock& clock, RequestLimits& limits)
      : config_(std::move(config)),
        core_(core),
        resources_(resources),
        authorizer_(authorizer),
        clock_(clock),
        limits_(limits) {}

  // Answers the REGISTER (statelessly: `msg` is consumed); returns the status.
  int onRegister(nta_agent_t* agent, msg_t* msg, sip_t const* sip);

 private:
  std::vector<PackageSubscription> subscriptionsFromAccept(sip_t const* sip) const;

  RegistrarConfig config_;
  Core& core_;
  AgentResources& resources_;
  const RequestAuthorizer& authorizer_;
  const Clock& clock_;
  RequestLimits& limits_;
};

}  // namespace beckon::sip
