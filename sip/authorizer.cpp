#include "authorizer.h"

#include <spdlog/spdlog.h>
#include <strings.h>

namespace beckon::sip {

RequestAuthorizer::RequestAuthorizer(const SipAuthConfig& config, const Clock& clock)
    : config_(config), clock_(clock) {
  reload();
}

void RequestAuthorizer::reload() {
  if (!config_.auth) {
    digest_.reset();
  } else if (digest_) {
    digest_->reconfigure(*config_.auth);
  } else {
    digest_ = std::make_unique<DigestAuthenticator>(*config_.auth, clock_);
  }
}

RequestAuthorizer::Decision RequestAuthorizer::check(sip_t const* sip, const std::string& aorUser,
                                                     const std::string& source) const {
  const std::string method = sip->sip_request->rq_method_name;
  if (!digest_ || !config_.needsCredentials(method)) return {};

  // The credentials for our realm (RFC 3261 22.4: there may be several).
  DigestResponse credentials;
  bool found = false;
  for (sip_authorization_t const* au = sip->sip_authorization; au && !found; au = au->au_next) {
    if (!au->au_scheme || strcasecmp(au->au_scheme, "Digest") != 0) continue;
    credentials = parseDigestParams(au->au_params);
    found = credentials.realm == digest_->realm();
  }
  if (!found) return {401, "Unauthorized", digest_->challenges()};

  switch (digest_->verify(credentials, method)) {
    case DigestAuthenticator::Verdict::Ok:
      if (credentials.username == aorUser) return {};
      spdlog::warn(
          "auth refused user={} for={} method={} source={}: another user's address of record",
          credentials.username, aorUser, method, source);
      return {403, "Forbidden", {}};
    case DigestAuthenticator::Verdict::Stale:
      return {401, "Unauthorized", digest_->challenges(true)};
    case DigestAuthenticator::Verdict::Failed:
      break;
  }
  spdlog::warn("auth failed user={} method={} source={}", credentials.username, method, source);
  return {403, "Forbidden", {}};
}

}  // namespace beckon::sip
