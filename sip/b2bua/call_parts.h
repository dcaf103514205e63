// What the parts of a B2BUA call (call.cpp, continuity.cpp,
// session_timer.cpp) share: the transactions a call holds and small
// helpers. Internal to sip/b2bua/.
#pragma once

#include <string>

#include "call.h"

namespace beckon::sip::b2bua::detail {

inline constexpr int kCaller = 0, kCallee = 1;
inline constexpr const char* kAllow = "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, INFO, UPDATE";
inline constexpr const char* kServer = "beckon/" BECKON_VERSION;

inline std::string hostPort(const FlowAddress& f) {
  const bool v6 = f.host.find(':') != std::string::npos;
  return (v6 ? "[" + f.host + "]" : f.host) + ":" + std::to_string(f.port);
}

inline bool isV6(const std::string& host) {
  return host.find(':') != std::string::npos;
}

inline const char* phraseOf(sip_t const* sip) {
  return sip && sip->sip_status && sip->sip_status->st_phrase ? sip->sip_status->st_phrase : "";
}

// The header fields a relayed request or response carries besides its body
// and the dialog's own (Via, From, To, Call-ID, CSeq, Contact, Route):
// those Sofia does not know (Info-Package, Recv-Info, P-... headers), one
// "Name: value" a line.
std::string unknownHeaders(sip_t const* sip);

inline bool offers(sip_method_t m) {
  return m == sip_method_invite || m == sip_method_update;
}

// A request to the callee that failed because its flow is lost (RFC 5626
// 5.3's 430, nta's own 503 for a transport error) or its dialog is gone.
inline bool flowLost(int status) {
  return status == 408 || status == 430 || status == 481 || status == 503;
}

inline sip_payload_t* payloadOf(su_home_t* home, const std::string& bytes) {
  return sip_payload_create(home, bytes.data(), static_cast<isize_t>(bytes.size()));
}

Call::Body bodyOf(sip_t const* sip);

}  // namespace beckon::sip::b2bua::detail

namespace beckon::sip::b2bua {

struct Call::Branch {
  Call* call;
  Target target;
  nta_outgoing_t* orq = nullptr;
  int status = 0;
  std::string phrase;
  std::string contact;  // ours toward it
  bool pending() const { return status < 200; }
};

struct Call::Relay {
  Call* call;
  int from;  // the side that sent the request
  nta_incoming_t* irq = nullptr;
  nta_outgoing_t* orq = nullptr;
  sip_method_t method;
  Body body;                   // the request's, for the sides' current SDP
  bool held = false;           // the first of held_ (a MESSAGE kept while rebuilding)
  bool refresh = false;        // a session refresh of ours (RFC 4028)
  std::string sessionExpires;  // the request's Session-Expires, to answer it
  // An offer on its way (a re-INVITE, an UPDATE with SDP): another crossing
  // it is glare (491). A refresh by UPDATE without a body is none.
  bool offer() const {
    return method == sip_method_invite || (method == sip_method_update && !body.type.empty());
  }
};

}  // namespace beckon::sip::b2bua
