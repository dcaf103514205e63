// Flow tokens in our Record-Route (RFC 5626 section 5.3, "Forwarding
// Non-REGISTER Requests", in spirit). Devices sit behind NAT: the Contact of
// a caller or callee names a private address, so a request inside a dialog
// can only reach it over the flow its first request or its registration came
// on. beckond keeps no per-dialog state; the Record-Route URI it inserts
// carries both flows instead, signed so that nobody else can make beckond
// send anything anywhere:
//
//   <sip:b<generation>.<caller flow>.<callee flow>.<mac>@192.0.2.1:5060;lr;ftag=<caller From tag>>
//
// A flow is its transport letter (u, t, s for UDP, TCP, TLS), the address in
// hex (4 or 16 bytes) and the port in hex; the callee flow is empty when the
// callee was not a registered binding (then its Contact is used as is). The
// MAC is the first 8 bytes of HMAC-SHA256 over the generation, both flows and
// the ftag, with the key of that generation (notifier/dialog_keys.h): the
// keys are kept in the store, so a token outlives a restart or a crash of
// beckond; it dies with its key's generation.
// Which way a request goes: its From tag is the ftag (from the caller, toward
// the callee's flow), or not (toward the caller's flow).
#pragma once

#include <openssl/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <vector>

#include "binding.h"
#include "dialog_keys.h"

namespace beckon::sip {

// Where a flow goes: transport and peer address (for TCP and TLS, the peer
// of the connection).
struct FlowAddress {
  Transport transport = Transport::Udp;
  std::string host;  // numeric IPv4 or IPv6 (without brackets)
  std::uint16_t port = 0;
  bool empty() const { return host.empty(); }
  bool operator==(const FlowAddress&) const = default;
};

struct DialogFlows {
  FlowAddress caller;  // where the dialog-creating request came from
  FlowAddress callee;  // the binding it went to (empty: routed by URI)
};

// Used on one thread (the SIP thread): it keeps one HMAC context per key,
// keyed once, for every token (OpenSSL's one-shot HMAC() costs 7 times more).
class RouteTokens {
 public:
  RouteTokens();  // one key drawn now (throws std::runtime_error without randomness)
  explicit RouteTokens(const std::vector<DialogKey>& keys);  // the newest signs
  ~RouteTokens();
  RouteTokens(const RouteTokens&) = delete;
  RouteTokens& operator=(const RouteTokens&) = delete;

  // The keys from now on (after a rotation): the newest signs, all verify.
  void setKeys(const std::vector<DialogKey>& keys);

  // The user part of our Record-Route URI for a dialog with this ftag.
  // Empty when a host is not a numeric address.
  std::string encode(const DialogFlows& flows, std::string_view ftag) const;
  // The flows of a token we made with this ftag; nothing otherwise.
  std::optional<DialogFlows> decode(std::string_view user, std::string_view ftag) const;

  // 32 random bytes for a new key (OpenSSL's RAND_bytes; throws without).
  static std::array<unsigned char, 32> randomKey();

 private:
  struct Key {
    std::uint32_t generation;
    EVP_MAC_CTX* hmac;
  };
  void clear();
  static std::string mac(EVP_MAC_CTX* hmac, std::string_view signedPart, std::string_view ftag);
  std::vector<Key> keys_;  // the newest last
};

}  // namespace beckon::sip
