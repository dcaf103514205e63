// Digest credentials (sip/digest.h) as a device sends them: the input is an
// Authorization header value, parsed by Sofia as beckond's stack does, then
// parseDigestParams() and DigestAuthenticator::verify().
//
// Must hold: credentials made up by the fuzzer never authenticate (they
// cannot know the per-process nonce key), and the same fields with a real
// nonce and the right response do (for a configured user, qop auth).
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/sip_header.h>

#include <exception>

#include "clock.h"
#include "digest.h"
#include "nonce_counts.h"
#include "fuzz.h"

using beckon::fuzz::printable;
using beckon::sip::DigestAlgorithm;
using beckon::sip::DigestAuthenticator;

namespace {

constexpr const char* kRealm = "example.com";
constexpr const char* kUser = "7546658000";
constexpr const char* kPassword = "secret";

struct World {
  beckon::ManualClock clock;  // fixed: our nonce never goes stale during a run
  DigestAuthenticator auth;
  World() : auth(config(), clock) {}
  static beckon::sip::DigestConfig config() {
    beckon::sip::DigestConfig c;
    c.realm = kRealm;
    c.users.push_back({kUser,
                       beckon::sip::digestHa1(DigestAlgorithm::Md5, kUser, kRealm, kPassword),
                       beckon::sip::digestHa1(DigestAlgorithm::Sha256, kUser, kRealm, kPassword)});
    return c;
  }
};

World& world() {
  static World w;
  return w;
}

void check(std::string_view text) {
  World& w = world();
  su_home_t home[1] = {SU_HOME_INIT(home)};
  const std::string value(text);
  // As in a request: "Authorization: <value>".
  sip_authorization_t* au = sip_authorization_make(home, value.c_str());
  beckon::sip::DigestResponse r = beckon::sip::parseDigestParams(au ? au->au_params : nullptr);
  su_home_deinit(home);

  for (const char* method : {"REGISTER", "SUBSCRIBE"}) {
    const auto verdict = w.auth.verify(r, method);
    FUZZ_CHECK(verdict == DigestAuthenticator::Verdict::Failed,
               "made-up credentials were accepted (verdict %d): %s", static_cast<int>(verdict),
               printable(text).c_str());
  }

  // The same fields with our nonce and the right response.
  if (r.username != kUser || r.uri.empty()) return;
  const std::string algorithm = r.algorithm;
  DigestAlgorithm a;
  if (algorithm.empty() || algorithm == "MD5" || algorithm == "md5") {
    a = DigestAlgorithm::Md5;
  } else if (algorithm == "SHA-256" || algorithm == "sha-256") {
    a = DigestAlgorithm::Sha256;
  } else {
    return;
  }
  // qop=auth with a cnonce and a real nc is required (the RFC 2069 form fails).
  if (!(r.qop == "auth" && !r.cnonce.empty() && beckon::sip::parseNonceCount(r.nc) != 0)) return;
  r.realm = kRealm;
  // A fresh nonce each time: on one nonce the same nc twice is a replay.
  const auto challenge = w.auth.challenges(kUser).at(0);
  const auto at = challenge.find("nonce=\"") + 7;
  r.nonce = challenge.substr(at, challenge.find('"', at) - at);
  r.response = beckon::sip::digestResponse(a, beckon::sip::digestHa1(a, kUser, kRealm, kPassword),
                                           r.nonce, r.nc, r.cnonce, r.qop, "REGISTER", r.uri);
  const auto verdict = w.auth.verify(r, "REGISTER");
  FUZZ_CHECK(verdict == DigestAuthenticator::Verdict::Ok,
             "right credentials refused (verdict %d): %s", static_cast<int>(verdict),
             printable(text).c_str());
  FUZZ_CHECK(w.auth.verify(r, "SUBSCRIBE") == DigestAuthenticator::Verdict::Failed,
             "a REGISTER digest passed for SUBSCRIBE: %s", printable(text).c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = beckon::fuzz::asText(data, size);
  if (text.find('\0') != std::string_view::npos) return 0;  // never in a header
  try {
    check(text);
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, "exception on %s: %s", printable(text).c_str(), e.what());
  }
  return 0;
}
