// Digest authentication of REGISTER and SUBSCRIBE (RFC 3261 22, RFC 8760),
// when [sip.auth] is configured: which requests must carry credentials, and
// what to answer when they do not hold:
// - none for our realm: 401/407 with challenges;
// - their source or user blocked (AuthFailureLimiter): 403, unchecked;
// - their uri not the Request-URI (RFC 3261 19.1.4 equality): 400 (RFC 7616
//   3.4.6, RFC 2617 3.2.2.5);
// - right on an old nonce, or a replay (an nc not grown): 401/407 with a
//   fresh nonce and stale=true;
// - failing: 403, logged and counted (beckon_digest_failures_total); the
//   failure that blocks a source or user logs one more line.
// Lives on the SIP thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "admission.h"
#include "auth_limiter.h"
#include "digest.h"
#include "metrics.h"
#include "sofia.h"

namespace beckon::sip {

class RequestAuthorizer {
 public:
  RequestAuthorizer(const SipAuthConfig& config, const Clock& clock, Metrics* metrics = nullptr);

  // The answer for a request that may not go on: 401 with challenges
  // (missing credentials, a stale nonce) or 403 (credentials that fail: the
  // same for an unknown user as for a wrong password). status 0: go on.
  struct Decision {
    int status = 0;
    const char* phrase = nullptr;
    std::vector<std::string> challenges;  // WWW-Authenticate values
  };
  // `aorUser`: the user part of the address of record the request is for;
  // credentials of another user may not act for it.
  Decision check(sip_t const* sip, const std::string& aorUser, const std::string& source) const;
  // The proxy's check of a caller (RFC 3261 22.3): Proxy-Authorization for
  // `user` (the user part of its From), 407 with Proxy-Authenticate
  // challenges, whatever the method. Always asks: the proxy decides when.
  Decision checkCaller(sip_t const* sip, const std::string& user, const std::string& source) const;
  const std::string& realm() const;

  // The configuration given to the constructor has changed (SIGHUP, on the
  // SIP thread): follow it, keeping the nonce secret.
  void reload();

 private:
  Decision verify(msg_auth_t const* credentialsList, sip_t const* sip, int status,
                  const char* phrase, const std::string& user, const std::string& source) const;
  // A failed attempt: logged, counted, and perhaps the one that blocks.
  void failed(const DigestResponse& credentials, const char* method,
              const std::string& source) const;

  const SipAuthConfig& config_;
  const Clock& clock_;
  Metrics* metrics_;
  std::unique_ptr<DigestAuthenticator> digest_;
  // Counts what the const checks see (the SIP thread only).
  mutable AuthFailureLimiter limiter_;
  mutable Throttle replayLog_;
};

// The WWW-Authenticate headers of a decision, as tags for a reply.
#define CHALLENGE_TAGS(d)                                                                          \
  TAG_IF((d).challenges.size() > 0,                                                                \
         SIPTAG_WWW_AUTHENTICATE_STR((d).challenges.size() > 0 ? (d).challenges[0].c_str() : "")), \
      TAG_IF(                                                                                      \
          (d).challenges.size() > 1,                                                               \
          SIPTAG_WWW_AUTHENTICATE_STR((d).challenges.size() > 1 ? (d).challenges[1].c_str() : ""))

}  // namespace beckon::sip
