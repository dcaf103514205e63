#include "authorizer.h"

#include <spdlog/spdlog.h>
#include <strings.h>

#include "sip_uri.h"

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

// The per-user key of the limiter: long names are counted by their start
// (bounded memory: the limiter keeps thousands of them).
std::string userKey(const std::string& user) {
  return user.substr(0, 256);
}

}  // namespace

RequestAuthorizer::RequestAuthorizer(const SipAuthConfig& config, const Clock& clock,
                                     Metrics* metrics)
    : config_(config), clock_(clock), metrics_(metrics), limiter_(config.limits) {
  reload();
}

void RequestAuthorizer::reload() {
  limiter_.reconfigure(config_.limits);
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
  return verify(sip->sip_authorization, sip, 401, "Unauthorized", aorUser, source);
}

RequestAuthorizer::Decision RequestAuthorizer::checkCaller(sip_t const* sip,
                                                           const std::string& user,
                                                           const std::string& source) const {
  if (!digest_) return {};
  return verify(sip->sip_proxy_authorization, sip, 407, "Proxy Authentication Required", user,
                source);
}

RequestAuthorizer::Decision RequestAuthorizer::verify(msg_auth_t const* credentialsList,
                                                      sip_t const* sip, int status,
                                                      const char* phrase, const std::string& user,
                                                      const std::string& source) const {
  const char* method = sip->sip_request->rq_method_name;
  // The credentials for our realm (RFC 3261 22.4: there may be several).
  DigestResponse credentials;
  bool found = false;
  for (msg_auth_t const* au = credentialsList; au && !found; au = au->au_next) {
    if (!au->au_scheme || strcasecmp(au->au_scheme, "Digest") != 0) continue;
    credentials = parseDigestParams(au->au_params);
    found = credentials.realm == digest_->realm();
  }
  if (!found) return {status, phrase, digest_->challenges(user)};

  const TimePoint now = clock_.now();
  switch (limiter_.blocked(sourceKey(source), userKey(credentials.username), now)) {
    case AuthFailureLimiter::Blocked::Source:
      if (metrics_) metrics_->digestBlocked(true);
      return {403, "Forbidden", {}};
    case AuthFailureLimiter::Blocked::User:
      if (metrics_) metrics_->digestBlocked(false);
      return {403, "Forbidden", {}};
    case AuthFailureLimiter::Blocked::No:
      break;
  }
  // RFC 7616 3.4.6: the uri must name the resource of the Request-Line;
  // else 400. (Checked before the digest: it says nothing about the user.)
  if (!beckon::sipUriEqual(credentials.uri, urlString(sip->sip_request->rq_url))) {
    return {400, "Bad Request (the credentials' uri is not the Request-URI)", {}};
  }

  // A REGISTER is answered statelessly: its UDP retransmissions come again.
  std::string retransmission;
  if (sip->sip_request->rq_method == sip_method_register && sip->sip_call_id && sip->sip_cseq &&
      sip->sip_via && sip->sip_via->v_branch) {
    retransmission = std::string(sip->sip_call_id->i_id) + " " +
                     std::to_string(sip->sip_cseq->cs_seq) + " " + sip->sip_via->v_branch;
  }
  switch (digest_->verify(credentials, method, retransmission)) {
    case DigestAuthenticator::Verdict::Ok:
      if (credentials.username == user) return {};
      spdlog::warn(
          "auth refused user={} for={} method={} source={}: another user's address of record",
          printable(credentials.username), printable(user), method, source);
      return {403, "Forbidden", {}};
    case DigestAuthenticator::Verdict::Stale:
      return {status, phrase, digest_->challenges(user, true)};
    case DigestAuthenticator::Verdict::Replayed:
      // A line a second at most: replays of one captured request may flood.
      if (const auto held = replayLog_.pass(Throttle::Clock::now())) {
        spdlog::warn(
            "auth replay refused user={} method={} source={}: nc {} not above the last ({} more "
            "such since the last line)",
            printable(credentials.username), method, source, printable(credentials.nc), *held);
      }
      return {status, phrase, digest_->challenges(user, true)};
    case DigestAuthenticator::Verdict::Failed:
      break;
  }
  failed(credentials, method, source);
  return {403, "Forbidden", {}};
}

void RequestAuthorizer::failed(const DigestResponse& credentials, const char* method,
                               const std::string& source) const {
  spdlog::warn("auth failed user={} method={} source={}", printable(credentials.username), method,
               source);
  if (metrics_) metrics_->digestFailed();
  const std::string key = sourceKey(source);
  const auto blocks = limiter_.failed(key, userKey(credentials.username), clock_.now());
  const AuthLimits& l = limiter_.limits();
  if (blocks.source) {
    spdlog::warn(
        "auth blocked source={} for {} s: {} failed digest attempts within {} s "
        "(sip.auth.source_failure_limit)",
        printable(key), l.block.count(), l.sourceFailures, l.window.count());
  }
  if (blocks.user) {
    spdlog::warn(
        "auth blocked user={} for {} s: {} failed digest attempts within {} s "
        "(sip.auth.user_failure_limit)",
        printable(credentials.username), l.block.count(), l.userFailures, l.window.count());
  }
}

}  // namespace beckon::sip
