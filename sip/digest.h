// Digest authentication of REGISTER and SUBSCRIBE (RFC 3261 section 22,
// RFC 7616, RFC 8760: MD5 and SHA-256). By default each 401/407 carries one
// challenge, with the algorithm the user it is for can answer (MD5 when it
// has an MD5 HA1): libre (baresip) and Sofia-SIP 1.12 refuse a response with
// several; docs/decisions.md, "Digest challenges", says what each client does. Pure C++ and
// OpenSSL, no Sofia: the registrar hands it the fields of an Authorization header and sends the
// challenges it makes.
//
// Credentials are configured as HA1 = H(user ":" realm ":" password), lowercase
// hex, never as passwords. An operator computes them with
//   printf '%s' '7546658000:example.com:secret' | md5sum     | cut -d' ' -f1
//   printf '%s' '7546658000:example.com:secret' | sha256sum  | cut -d' ' -f1
// (printf '%s', not echo: no trailing newline may enter the hash).
//
// Decisions:
// - Nonces are made without state: base64url(ts || salt || HMAC-SHA256(secret,
//   ts || salt || realm)), ts the issue time in seconds (8 bytes, big-endian),
//   salt 8 random bytes, secret random per process. A nonce from another
//   process (a restart) or tampered with is Failed. Only once credentials were
//   right for a nonce is it remembered, with their nc (NonceCounts: bounded).
// - Stale (answer 401 with stale=true) only when the nonce is ours, older than
//   nonceLifetime, AND the response is right for it (RFC 2617 3.2.1: stale means
//   the digest was valid, only the nonce was old). A wrong password or an
//   unknown user with an old nonce is Failed, as with a fresh one.
// - An unknown user, a user without an HA1 for the algorithm chosen, and a wrong
//   password all give Failed after the same work: the response is computed
//   against a random dummy HA1 and compared with CRYPTO_memcmp. Scanners
//   (svwar, svcrack) learn nothing from the verdict or its timing.
// - realm must be ours, uri and nonce present; algorithm absent means MD5;
//   "MD5" and "SHA-256" (any case) accepted when configured, "-sess"
//   variants are not (never offered).
// - qop: "auth" (with cnonce and an nc of 1 to 8 hex digits, not zero) is
//   required, as every challenge offers it (RFC 7616 3.3). The RFC 2069 form
//   without qop has no nc, so nothing would stop its replay: Failed, as are
//   "auth-int" and anything else.
// - Replays (RFC 7616 3.4): the right response on a live nonce whose nc is
//   not higher than the highest seen for it is Replayed (the caller answers
//   401/407 with a fresh nonce and stale=true, as for an old nonce: the
//   owner's client retries without asking its user, a replaying attacker
//   cannot answer it). A REGISTER is answered without a server transaction,
//   so its UDP retransmissions come here again: the same nc with the same
//   Call-ID, CSeq and Via branch is let through (the registrar changes
//   nothing for the same Call-ID and CSeq). docs/decisions.md, "Digest
//   replays and guessing".
// - Not done here (the caller's business, RequestAuthorizer): checking that
//   uri matches the Request-URI, and slowing down guessing.
// - Thread safety: challenges() and verify() are const and may run concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth_limiter.h"
#include "clock.h"

namespace beckon::sip {

class NonceCounts;

enum class DigestAlgorithm { Md5, Sha256 };

// HA1 = H(user:realm:password), lowercase hex; either may be empty (then that
// algorithm fails for this user).
struct DigestUser {
  std::string user;
  std::string ha1Md5;
  std::string ha1Sha256;
};

// What a 401/407 offers ([sip.auth] offer).
enum class DigestOffer {
  // One challenge: the first of `algorithms` the user has an HA1 for. Every
  // client we know answers it (docs/decisions.md).
  PerUser,
  // One challenge per algorithm, in the order of `algorithms` (RFC 8760: the
  // client picks). libre (baresip) and Sofia-SIP 1.12 give up on it.
  All,
};

struct DigestConfig {
  std::string realm;
  std::vector<DigestUser> users;
  std::chrono::seconds nonceLifetime{300};
  // Most preferred first, and the only ones accepted. MD5 first: a user with
  // both HA1s is then challenged with MD5, which every client answers; one
  // with only an SHA-256 HA1 gets SHA-256.
  std::vector<DigestAlgorithm> algorithms{DigestAlgorithm::Md5, DigestAlgorithm::Sha256};
  DigestOffer offer = DigestOffer::PerUser;
};

// [sip.auth] of the configuration: whether, and for which requests.
struct SipAuthConfig {
  std::optional<DigestConfig> auth;  // absent: no authentication
  std::vector<std::string> authMethods{"REGISTER", "SUBSCRIBE"};
  AuthLimits limits;  // failed attempts per source and per user
  // True when `method` must carry credentials.
  bool needsCredentials(const std::string& method) const;
};

// The fields of one Authorization / Proxy-Authorization header (unquoted values).
struct DigestResponse {
  std::string username, realm, nonce, uri, response, algorithm, cnonce, qop, nc, opaque;
};

class DigestAuthenticator {
 public:
  // A random HMAC secret per instance (RAND_bytes). Throws std::runtime_error
  // when OpenSSL cannot provide MD5, SHA-256, HMAC or random bytes.
  DigestAuthenticator(DigestConfig config, const beckon::Clock& clock);
  ~DigestAuthenticator();
  DigestAuthenticator(DigestAuthenticator&&) noexcept;
  DigestAuthenticator& operator=(DigestAuthenticator&&) = delete;
  DigestAuthenticator(const DigestAuthenticator&) = delete;
  DigestAuthenticator& operator=(const DigestAuthenticator&) = delete;

  // WWW-Authenticate (or Proxy-Authenticate) header values for a request of
  // `user` (the user part of the address of record it is for), e.g.
  //   Digest realm="example.com", nonce="...", algorithm=MD5, qop="auth"
  // with ", stale=true" appended when `stale`; one fresh nonce shared by all.
  // PerUser: one, with the first of DigestConfig::algorithms `user` has an
  // HA1 for. A user that is not configured (or has no HA1 for any of them)
  // gets the algorithm of a configured user chosen by a hash of its name and
  // of the HA1s: stable, and the same mix as the users', so that the
  // algorithm tells a scanner nothing about which names exist.
  // All: one per algorithm, in order (RFC 8760), each offered when at least
  // one user has an HA1 for it (all when no user has any).
  std::vector<std::string> challenges(const std::string& user, bool stale = false) const;

  // Ok: right, on a live nonce, with a growing nc. Stale: right but on an
  // old nonce. Replayed: right, on a live nonce, with an nc seen before.
  // Failed: anything else (wrong, unknown user, not our nonce, malformed).
  enum class Verdict { Ok, Stale, Replayed, Failed };
  // method: the request's method ("REGISTER", "SUBSCRIBE"), as it enters HA2.
  // retransmission: what identifies the request when a retransmission of it
  // may come through again (REGISTER, answered statelessly: Call-ID, CSeq,
  // Via branch); the same credentials with the same key are then Ok again.
  // Empty: the same nc twice is always Replayed.
  Verdict verify(const DigestResponse& r, const std::string& method,
                 const std::string& retransmission = "") const;

  const std::string& realm() const { return config_.realm; }

  // New realm, users and nonce lifetime (SIGHUP), keeping the HMAC secret:
  // nonces given out before stay valid while the realm is the same.
  void reconfigure(DigestConfig config);

 private:
  struct Crypto;
  std::string makeNonce() const;
  // PerUser: the algorithm to challenge `user` with.
  DigestAlgorithm algorithmFor(const std::string& user) const;
  // The nonce's issue time (seconds since the epoch) when it is ours.
  std::optional<std::int64_t> nonceTime(const std::string& nonce) const;

  DigestConfig config_;
  const beckon::Clock* clock_;
  std::unordered_map<std::string, std::size_t> byUser_;
  std::string dummyMd5_, dummySha256_;
  bool offerMd5_ = true, offerSha256_ = true;
  // PerUser: each configured user's algorithm; the same, one entry per user,
  // in the order of the users (the mix a name nobody has is given one of);
  // and the secret that picks it (derived from the HA1s).
  std::unordered_map<std::string, DigestAlgorithm> algorithmOf_;
  std::vector<DigestAlgorithm> userAlgorithms_;
  std::string unknownKey_;
  std::unique_ptr<Crypto> crypto_;
  std::unique_ptr<NonceCounts> counts_;  // thread-safe itself
};

// Parses the parameters of a Digest credentials header as Sofia gives them
// (auth_t::au_params: a NULL-terminated array of "name=value", values possibly
// quoted). Names are case-insensitive; quoted values are unquoted and their
// backslash escapes undone; unknown parameters are ignored. Null gives {}.
DigestResponse parseDigestParams(const char* const* params);

// H(user:realm:password), lowercase hex.
std::string digestHa1(DigestAlgorithm algorithm, const std::string& user, const std::string& realm,
                      const std::string& password);

// The request-digest (RFC 7616 3.4.1, RFC 2617 3.2.2.1), lowercase hex:
// H(ha1:nonce:nc:cnonce:qop:H(method:uri)), or H(ha1:nonce:H(method:uri)) when
// qop is empty (RFC 2069).
std::string digestResponse(DigestAlgorithm algorithm, const std::string& ha1,
                           const std::string& nonce, const std::string& nc,
                           const std::string& cnonce, const std::string& qop,
                           const std::string& method, const std::string& uri);

}  // namespace beckon::sip
