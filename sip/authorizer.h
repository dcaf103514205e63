// Digest authentication of REGISTER and SUBSCRIBE (RFC 3261 22, RFC 8760),
// when [sip.auth] is configured: which requests must carry credentials, and
// what to answer when they do not hold.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "digest.h"
#include "sofia.h"

namespace beckon::sip {

class RequestAuthorizer {
 public:
  RequestAuthorizer(const SipAuthConfig& config, const Clock& clock);

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
  Decision verify(msg_auth_t const* credentialsList, const char* method, int status,
                  const char* phrase, const std::string& user, const std::string& source) const;

  const SipAuthConfig& config_;
  const Clock& clock_;
  std::unique_ptr<DigestAuthenticator> digest_;
};

// The WWW-Authenticate headers of a decision, as tags for a reply.
#define CHALLENGE_TAGS(d)                                                                          \
  TAG_IF((d).challenges.size() > 0,                                                                \
         SIPTAG_WWW_AUTHENTICATE_STR((d).challenges.size() > 0 ? (d).challenges[0].c_str() : "")), \
      TAG_IF(                                                                                      \
          (d).challenges.size() > 1,                                                               \
          SIPTAG_WWW_AUTHENTICATE_STR((d).challenges.size() > 1 ? (d).challenges[1].c_str() : ""))

}  // namespace beckon::sip
