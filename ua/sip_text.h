// Small readers of Sofia-SIP's parsed messages, shared by the agent's parts.
#pragma once

#include <string>

#include "sofia.h"

namespace beckon::ua {

inline std::string str(const char* s) {
  return s ? s : "";
}

inline std::string urlText(const url_t* u) {
  if (!u) return "";
  char buf[1024];
  const int n = url_e(buf, sizeof buf, u);
  return n > 0 && static_cast<std::size_t>(n) < sizeof buf ? std::string(buf, n) : "";
}

inline std::string callIdOf(const sip_t* sip) {
  return sip && sip->sip_call_id ? str(sip->sip_call_id->i_id) : "";
}

inline std::string payloadOf(const sip_t* sip) {
  if (!sip || !sip->sip_payload || !sip->sip_payload->pl_data) return "";
  return std::string(sip->sip_payload->pl_data, sip->sip_payload->pl_len);
}

}  // namespace beckon::ua
