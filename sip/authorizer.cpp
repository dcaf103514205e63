#include "authorizer.h"

#include <spdlog/spdlog.h>
#include <strings.h>

namespace beckon::sip {

RequestAuthorizer::RequestAuthorizer(const SipAuthConfig& config, const Clock& clock)
    : config_(config) {
  if (config_.auth) digest_ = std::make_unique<DigestAuthenticator>(*config_.auth, clock);
}

const std::string& RequestAuthorizer::realm() const {
  static const std::string none;
  return digest_ ? digest_->realm() : none;
}

RequestAuthorizer::Decision RequestAuthorizer::check(sip_t const* sip, const std::string& aorUser,
                                                     const std::string& source) const {
  const std::string method = sip->sip_request->rq_method_name;
  if (!digest_ || !config_.needsCredentials(method)) return {};
  return verify(sip->sip_authorization, method.c_str(), 401, "Unauthorized", aorUser, source);
}

RequestAuthorizer::Decision RequestAuthorizer::checkCaller(sip_t const* sip,
                                                           const std::string& user,
                                                           const std::string& source) const {
  if (!digest_) return {};
  return verify(sip->sip_proxy_authorization, sip->sip_request->rq_method_name, 407,
                "Proxy Authentication Required", user, source);
}

RequestAuthorizer::Decision RequestAuthorizer::verify(msg_auth_t const* credentialsList,
                                                      const char* method, int status,
                                                      const char* phrase, const std::string& user,
                                                      const std::string& source) const {
  // The credentials for our realm (RFC 3261 22.4: there may be several).
  DigestResponse credentials;
  bool found = false;
  for (msg_auth_t const* au = credentialsList; au && !found; au = au->au_next) {
    if (!au->au_scheme || strcasecmp(au->au_scheme, "Digest") != 0) continue;
    credentials = parseDigestParams(au->au_params);
    found = credentials.realm == digest_->realm();
  }
  if (!found) return {status, phrase, digest_->challenges()};

  switch (digest_->verify(credentials, method)) {
    case DigestAuthenticator::Verdict::Ok:
      if (credentials.username == user) return {};
      spdlog::warn(
          "auth refused user={} for={} method={} source={}: another user's address of record",
          credentials.username, user, method, source);
      return {403, "Forbidden", {}};
    case DigestAuthenticator::Verdict::Stale:
      return {status, phrase, digest_->challenges(true)};
    case DigestAuthenticator::Verdict::Failed:
      break;
  }
  spdlog::warn("auth failed user={} method={} source={}", credentials.username, method, source);
  return {403, "Forbidden", {}};
}

}  // namespace beckon::sip
