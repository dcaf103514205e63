#include "flow.h"

#include <strings.h>

#include "logfmt.h"

namespace beckon::sip {

SipFlow::SipFlow(AgentResources& resources, tport_t* transport)
    : resources_(resources), transport_(transport ? tport_ref(transport) : nullptr) {
  resources_.add(this);
}

SipFlow::~SipFlow() {
  release();
  resources_.erase(this);
}

void SipFlow::release() {
  if (transport_) tport_unref(transport_);
  transport_ = nullptr;
}

SipDialog::SipDialog(AgentResources& resources, nta_leg_t* leg) : resources_(resources), leg_(leg) {
  resources_.add(this);
}

SipDialog::~SipDialog() {
  release();
  resources_.erase(this);
}

void SipDialog::release() {
  if (leg_) nta_leg_destroy(leg_);
  leg_ = nullptr;
}

Source sourceOf(nta_agent_t* agent, msg_t* msg) {
  Source s;
  if (tport_t* tp = tport_delivered_by(nta_agent_tports(agent), msg)) {
    const char* proto = tport_name(tp)->tpn_proto;
    s.transport = !strcasecmp(proto, "tls")   ? Transport::Tls
                  : !strcasecmp(proto, "tcp") ? Transport::Tcp
                                              : Transport::Udp;
    s.tport = tp;
    if (const char* ident = tport_ident(tp)) s.listener = ident;
    if (s.transport != Transport::Udp) s.connection = tp;
  }
  if (su_addrinfo_t* ai = msg_addrinfo(msg); ai && ai->ai_addr) {
    auto* su = reinterpret_cast<su_sockaddr_t*>(ai->ai_addr);
    char buf[SU_ADDRSIZE] = "";
    su_inet_ntop(su->su_family, SU_ADDR(su), buf, sizeof buf);
    s.host = buf;
    s.port = ntohs(su->su_port);
  }
  return s;
}

std::string Source::hostPort() const {
  if (host.empty()) return host;
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string logKeys(sip_t const* sip) {
  if (!sip) return {};
  std::string keys;
  if (sip->sip_request) {
    keys = fmt::format(
        "method={}",
        quoted(sip->sip_request->rq_method_name ? sip->sip_request->rq_method_name : ""));
  } else if (sip->sip_status) {
    keys = fmt::format("status={}", sip->sip_status->st_status);
  }
  if (sip->sip_call_id && sip->sip_call_id->i_id) {
    keys += fmt::format(" call_id={}", quoted(sip->sip_call_id->i_id));
  }
  if (sip->sip_cseq) keys += fmt::format(" cseq={}", sip->sip_cseq->cs_seq);
  return keys;
}

std::string urlString(const url_t* url) {
  Home home;
  char* s = url_as_string(home.get(), url);
  return s ? std::string(s) : std::string();
}

}  // namespace beckon::sip
