// The flow a binding is reached over (RFC 5626 3.5 in spirit): for TCP and
// TLS, the very connection its REGISTER came in on; for UDP, the address and
// port the REGISTER came from (RFC 3581). And the dialog of an explicit
// subscription. Both hold Sofia objects that must go before the agent does.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_set>

#include "binding.h"
#include "sofia.h"

namespace beckon::sip {

// A Sofia object held by the core's bindings, released when the agent stops.
class AgentResource {
 public:
  virtual void release() = 0;

 protected:
  ~AgentResource() = default;
};

// Knows every live resource so that the SIP thread can release them before
// the agent goes, whoever still holds them.
class AgentResources {
 public:
  void add(AgentResource* r) { resources_.insert(r); }
  void erase(AgentResource* r) { resources_.erase(r); }
  void releaseAll() {
    for (AgentResource* r : resources_)
      r->release();
  }

 private:
  std::unordered_set<AgentResource*> resources_;
};

class SipFlow final : public Flow, public AgentResource {
 public:
  // Takes a reference of the transport a request came on: the connection
  // (TCP, TLS) or the listening UDP socket it arrived at.
  SipFlow(AgentResources& resources, tport_t* transport);
  ~SipFlow() override;
  SipFlow(const SipFlow&) = delete;
  SipFlow& operator=(const SipFlow&) = delete;

  // The connection for TCP and TLS; null for UDP.
  tport_t* connection() const {
    return transport_ && !tport_is_dgram(transport_) ? transport_ : nullptr;
  }
  // The transport itself: for UDP, the socket to send from (the right
  // address family when beckond listens on IPv4 and IPv6).
  tport_t* transport() const { return transport_; }
  bool closed() const override {
    return transport_ && !tport_is_dgram(transport_) && tport_is_closed(transport_);
  }
  void release() override;  // drops the transport reference

 private:
  AgentResources& resources_;
  tport_t* transport_;
};

class SipDialog final : public Dialog, public AgentResource {
 public:
  SipDialog(AgentResources& resources, nta_leg_t* leg);  // takes the leg
  ~SipDialog() override;
  SipDialog(const SipDialog&) = delete;
  SipDialog& operator=(const SipDialog&) = delete;

  nta_leg_t* leg() const { return leg_; }
  void release() override;  // destroys the leg

 private:
  AgentResources& resources_;
  nta_leg_t* leg_;
};

// Where a request really came from (RFC 3581), and over what: valid while
// the request is being delivered.
struct Source {
  Transport transport = Transport::Udp;
  std::string host;
  std::uint16_t port = 0;
  tport_t* tport = nullptr;       // the transport it came on (not referenced)
  tport_t* connection = nullptr;  // the same, for TCP and TLS only
  std::string listener;           // the ident of the listening socket ("l0", ...)
  // "host:port", "[v6]:port"; empty when unknown (for logs).
  std::string hostPort() const;
};
Source sourceOf(nta_agent_t* agent, msg_t* msg);

}  // namespace beckon::sip
