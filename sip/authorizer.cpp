#include "authorizer.h"

#include <spdlog/spdlog.h>
#include <strings.h>

namespace beckon::sip {

namespace {

// A user name as a client sent it, fit for a log line: quoted-pairs may
// carry control characters (a forged line, terminal escapes), and it is
// bounded in length.
std::string printable(const std::string& s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < 128; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f || c == '\\') {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return s.size() > 128 ? out + "..." : out;
}

}  // namespace

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
  if (!found) return {status, phrase, digest_->challenges(user)};

  switch (digest_->verify(credentials, method)) {
    case DigestAuthenticator::Verdict::Ok:
      if (credentials.username == user) return {};
      spdlog::warn(
          "auth refused user={} for={} method={} source={}: another user's address of record",
          printable(credentials.username), printable(user), method, source);
      return {403, "Forbidden", {}};
    case DigestAuthenticator::Verdict::Stale:
      return {status, phrase, digest_->challenges(user, true)};
    case DigestAuthenticator::Verdict::Failed:
      break;
  }
  spdlog::warn("auth failed user={} method={} source={}", printable(credentials.username), method,
               source);
  return {403, "Forbidden", {}};
}

}  // namespace beckon::sip
