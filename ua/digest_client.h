// The client side of SIP digest authentication (RFC 3261 section 22.4, RFC
// 7616, RFC 8760) for beckon-ua's REGISTER and SUBSCRIBE: beckond may offer
// SHA-256 first ([sip.auth] algorithms), and Sofia-SIP 1.12.11's own client
// gives up on a list that holds an algorithm it does not know. (Calls use
// nua's client: they need MD5 offered alone, [sip.auth] algorithms = ["MD5"].)
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace beckon::ua {

// One WWW-Authenticate / Proxy-Authenticate challenge: scheme and its
// parameters, names lower-case, values unquoted.
struct DigestChallenge {
  std::string scheme;
  std::map<std::string, std::string> params;
};

// The challenge to answer: SHA-256 if offered, else MD5 (or no algorithm);
// qop absent or offering "auth". nullopt when none fits.
std::optional<DigestChallenge> pickChallenge(const std::vector<DigestChallenge>& challenges);

struct DigestInput {
  std::string user, password, method, uri;
  std::string cnonce;  // random per answer
  unsigned nc = 1;
};

// The Authorization (or Proxy-Authorization) header value answering `c`.
std::string digestAuthorization(const DigestChallenge& c, const DigestInput& in);

// "name=value" parameter strings as Sofia keeps them -> a DigestChallenge.
DigestChallenge challengeOf(const char* scheme, const char* const* params);

}  // namespace beckon::ua
