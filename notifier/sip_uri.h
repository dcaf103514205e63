// SIP and SIPS URI equality, RFC 3261 19.1.4, on the text of two URIs as a
// Contact writes them. The registrar finds a binding by its Contact URI
// (RFC 3261 10.3 step 7): a phone that re-registers with an equal URI written
// otherwise ("sip:%61lice@Host;Transport=UDP" for "sip:alice@host;transport=udp")
// refreshes its binding instead of adding one. Pure C++, no Sofia: the
// domain core holds the bindings.
#pragma once

#include <string_view>

namespace beckon {

// True when `a` and `b` name the same resource by RFC 3261 19.1.4:
// - the same scheme (sip or sips; case-insensitive);
// - the same userinfo (user and password), case-sensitive, after %HH escapes
//   are undone;
// - the same host (case-insensitive) and the same port, an absent port being
//   different from any written one;
// - the user, ttl, method, maddr and transport parameters: one present in
//   either must be present in both and equal; any other parameter present in
//   both must be equal (case-insensitive, unescaped); one in only one URI is
//   ignored;
// - the same header components, with equal values (order free).
// Anything that is not a sip: or sips: URI compares as bytes.
bool sipUriEqual(std::string_view a, std::string_view b);

}  // namespace beckon
