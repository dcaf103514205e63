// The event server (RFC 6665) for the contact-me packages: SUBSCRIBE creates,
// refreshes and ends explicit subscriptions; each gets an immediate NOTIFY
// with the current state, and contact-me NOTIFYs inside its dialog.
#pragma once

#include <optional>
#include <string>

#include "authorizer.h"
#include "core.h"
#include "flow.h"
#include "notify_sender.h"
#include "registrar.h"
#include "sofia.h"

namespace beckon::sip {

class EventServer {
 public:
  // Expiry bounds and packages are the registrar's.
  // Requests inside a subscription's dialog reach `dialogCallback` (with
  // `magic`), which hands SUBSCRIBEs to onDialogRequest().
  EventServer(const RegistrarConfig& config, Core& core, AgentResources& resources,
              const RequestAuthorizer& authorizer, const NtaNotifySender& sender,
              const Clock& clock, nta_request_f* dialogCallback, nta_leg_magic_t* magic)
      : config_(config),
        core_(core),
        resources_(resources),
        authorizer_(authorizer),
        sender_(sender),
        clock_(clock),
        dialogCallback_(dialogCallback),
        magic_(magic) {}

  // Answers a SUBSCRIBE from outside a dialog leg through a server
  // transaction (`msg` is consumed).
  void onSubscribe(nta_agent_t* agent, msg_t* msg, sip_t const* sip);
  // A request inside a subscription's dialog; returns a status for nta to
  // answer with, or 0 when answered.
  int onDialogRequest(nta_agent_t* agent, nta_incoming_t* irq, sip_t const* sip);
  // Makes the dialog of a subscription saved by a previous run again (its
  // leg, from the saved dialog state); the reason when it cannot.
  std::optional<std::string> restoreDialog(nta_agent_t* agent, Binding& b);

 private:
  void handle(nta_agent_t* agent, nta_incoming_t* irq, sip_t const* sip, const Source& source);
  void refresh(nta_incoming_t* irq, sip_t const* sip, unsigned expires);
  void answerStored(nta_incoming_t* irq, const Binding& b, unsigned expires,
                    const std::string& endReason);
  void create(nta_agent_t* agent, nta_incoming_t* irq, sip_t const* sip, const Source& source,
              const std::string& package, unsigned expires);

  const RegistrarConfig& config_;
  Core& core_;
  AgentResources& resources_;
  const RequestAuthorizer& authorizer_;
  const NtaNotifySender& sender_;
  const Clock& clock_;
  nta_request_f* dialogCallback_;
  nta_leg_magic_t* magic_;
};

}  // namespace beckon::sip
