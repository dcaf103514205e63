// SDP offer/answer (RFC 3264) for calls without media: beckon-ua offers one
// audio stream with PCMU and PCMA and answers the first audio stream it can
// take; no RTP is ever sent.
#pragma once

#include <optional>
#include <string>

namespace beckon::ua {

struct SdpAnswer {
  std::string body;
  std::string codec;  // "PCMU/8000" or "PCMA/8000" of the accepted stream
};

// `address`: the IPv4 or IPv6 address to put in o= and c=.
std::string sdpOffer(const std::string& address, unsigned long session);
// The same with o= version `version` (a later offer of the same session).
std::string sdpOffer(const std::string& address, unsigned long session, unsigned long version);

// Accepts the first audio stream that offers PCMU (0) or PCMA (8), refusing
// every other stream with port 0 (RFC 3264 section 6); nullopt when no
// stream can be taken (the call is answered 488).
std::optional<SdpAnswer> sdpAnswer(const std::string& offer, const std::string& address,
                                   unsigned long session);
std::optional<SdpAnswer> sdpAnswer(const std::string& offer, const std::string& address,
                                   unsigned long session, unsigned long version);

// The session id of the o= line of `sdp`, or "".
std::string sdpSessionOf(const std::string& sdp);

// The codec a remote answer chose ("PCMU/8000"...), or "" if none of ours.
std::string sdpChosenCodec(const std::string& answer);

}  // namespace beckon::ua
