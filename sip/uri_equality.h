// RFC 3261 19.1.4 equality of SIP and SIPS URIs, on Sofia's parsed url_t:
// - the same scheme (sip and sips never match);
// - userinfo (user and password) case-sensitive, other parts not;
// - characters compared after %HH escapes are undone ("%61lice" is "alice");
// - a component with a default value matches only the same component
//   written out: no port is not port 5060, no transport is not transport=udp;
// - the user, ttl, method, maddr and transport parameters match only when
//   both URIs have them with equal values or neither has them; any other
//   parameter counts only when both have it (then the values must be equal);
// - headers (?name=value) must be the same in both, in any order.
#pragma once

#include <sofia-sip/url.h>

namespace beckon::sip {

// False when either is null or is not a SIP or SIPS URI.
bool sipUriEqual(url_t const* a, url_t const* b);

}  // namespace beckon::sip
