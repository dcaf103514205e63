// STUN keep-alives of RFC 5626 section 8 on beckond's UDP ports: a Binding
// request (RFC 5389) is answered with a Binding success response that
// carries the sender's address in XOR-MAPPED-ADDRESS; anything else that
// looks like STUN is dropped without an answer.
//
// Sofia-SIP's own STUN server leaked memory on every malformed request and
// wrote every request to stderr (docs/security.md, "STUN"). Sofia's tport
// hands each datagram whose first byte is 0 or 1 to a pluggable STUN server
// (tport_plugins.h); installResponder() plugs in this one.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace beckon::sip::stun {

inline constexpr std::uint32_t kMagicCookie = 0x2112A442;
inline constexpr std::size_t kHeaderSize = 20;

// The answer to `request` (a whole datagram) from `from`: a Binding success
// response when it is a well-formed RFC 5389 Binding request (message type
// 0x0001, magic cookie, a length that is the rest of the datagram and a
// multiple of 4, attributes that fill it exactly, none of them
// comprehension-required), nothing for anything else: responses,
// indications, other methods, RFC 3489 requests without the cookie, short,
// long or truncated datagrams, and addresses other than IPv4 and IPv6.
std::optional<std::vector<std::uint8_t>> bindingResponse(std::span<const std::uint8_t> request,
                                                         const sockaddr* from,
                                                         socklen_t fromLength);

// Plugs the responder into Sofia-SIP's tport, once per process, before the
// first transport is made (later calls return what the first one did). False
// when Sofia already had another STUN server plugged in (then beckond keeps
// Sofia's off: TPTAG_STUN_SERVER(0)).
bool installResponder();

}  // namespace beckon::sip::stun
