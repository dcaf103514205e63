// RFC 8599 on the registrar's side: the push parameters of a Contact URI
// (8.7: pn-provider, pn-prid, pn-param) and the Feature-Caps a 2xx carries
// (8.2: +sip.pns, the push notification services beckond can use).
#pragma once

#include <string>
#include <vector>

#include "binding.h"
#include "sofia.h"

namespace beckon::sip {

// What a Contact's push parameters ask for.
struct ContactPush {
  bool named = false;  // it names a pn-provider: the 2xx says which services beckond has
  PushTarget target;   // empty without pn-prid (4.1.2: a UA only asking)
  int status = 0;      // a refusal: 400 (malformed) or 555 (a service not configured)
  std::string phrase;
};

// `providers`: the configured ones; the match is case-insensitive (RFC 3261
// 19.1.4 for URI parameters) and the target names the provider as
// configured. Values are unescaped, and must be text (UTF-8, no control
// characters: they go into the gateway's JSON as they are).
ContactPush contactPush(url_t const* contact, const std::vector<std::string>& providers);

// "Feature-Caps: *;+sip.pns=\"apns,fcm\"" (RFC 6809 syntax), or "" when no
// provider is configured.
std::string featureCapsHeader(const std::vector<std::string>& providers);

}  // namespace beckon::sip
