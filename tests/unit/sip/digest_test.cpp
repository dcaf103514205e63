#include <boost/test/unit_test.hpp>

#include <ostream>

#include "clock.h"
#include "digest.h"
#include "nonce_counts.h"

using namespace beckon::sip;
using Verdict = DigestAuthenticator::Verdict;

namespace beckon::sip {
std::ostream& operator<<(std::ostream& os, Verdict v) {
  return os << (v == Verdict::Ok         ? "Ok"
                : v == Verdict::Stale    ? "Stale"
                : v == Verdict::Replayed ? "Replayed"
                                         : "Failed");
}
}  // namespace beckon::sip

namespace {

const std::string kRealm = "example.com";

DigestConfig config() {
  DigestConfig c;
  c.realm = kRealm;
  c.nonceLifetime = std::chrono::seconds(300);
  auto user = [](const std::string& name, const std::string& password, bool md5, bool sha256) {
    DigestUser u;
    u.user = name;
    if (md5) u.ha1Md5 = digestHa1(DigestAlgorithm::Md5, name, kRealm, password);
    if (sha256) u.ha1Sha256 = digestHa1(DigestAlgorithm::Sha256, name, kRealm, password);
    return u;
  };
  c.users = {user("alice", "secret", true, true), user("bob", "hunter2", true, false),
             user("carol", "pa55", false, true)};
  return c;
}

// The nonce="..." of a challenge.
std::string nonceOf(const std::string& challenge) {
  const auto b = challenge.find("nonce=\"");
  BOOST_REQUIRE(b != std::string::npos);
  const auto e = challenge.find('"', b + 7);
  return challenge.substr(b + 7, e - b - 7);
}

// What a well-behaved device sends back for `nonce`.
DigestResponse answer(const std::string& nonce, const std::string& user,
                      const std::string& password, DigestAlgorithm a = DigestAlgorithm::Sha256,
                      const std::string& method = "REGISTER") {
  DigestResponse r;
  r.username = user;
  r.realm = kRealm;
  r.nonce = nonce;
  r.uri = "sip:example.com";
  r.algorithm = a == DigestAlgorithm::Md5 ? "MD5" : "SHA-256";
  r.qop = "auth";
  r.nc = "00000001";
  r.cnonce = "0a4f113b";
  r.response = digestResponse(a, digestHa1(a, user, kRealm, password), r.nonce, r.nc, r.cnonce,
                              r.qop, method, r.uri);
  return r;
}

struct Fixture {
  beckon::ManualClock clock;
  DigestAuthenticator auth{config(), clock};
  std::string nonce() { return nonceOf(auth.challenges("alice").front()); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(digest)

// RFC 7616 section 3.9.1: the same request answered with SHA-256 and with MD5.
BOOST_AUTO_TEST_CASE(rfc7616_example) {
  const std::string nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
  const std::string cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
  const std::string md5Ha1 =
      digestHa1(DigestAlgorithm::Md5, "Mufasa", "http-auth@example.org", "Circle of Life");
  const std::string shaHa1 =
      digestHa1(DigestAlgorithm::Sha256, "Mufasa", "http-auth@example.org", "Circle of Life");
  // HA1s as `printf '%s' 'Mufasa:http-auth@example.org:Circle of Life' | md5sum` gives them.
  BOOST_TEST(md5Ha1 == "3d78807defe7de2157e2b0b6573a855f");
  BOOST_TEST(shaHa1 == "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232");
  BOOST_TEST(digestResponse(DigestAlgorithm::Md5, md5Ha1, nonce, "00000001", cnonce, "auth", "GET",
                            "/dir/index.html") == "8ca523f5e9506fed4657c9700eebdbec");
  BOOST_TEST(digestResponse(DigestAlgorithm::Sha256, shaHa1, nonce, "00000001", cnonce, "auth",
                            "GET", "/dir/index.html") ==
             "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

// RFC 2617 section 3.5 (qop=auth), and the RFC 2069 form without qop.
BOOST_AUTO_TEST_CASE(rfc2617_example_and_rfc2069_form) {
  const std::string ha1 =
      digestHa1(DigestAlgorithm::Md5, "Mufasa", "testrealm@host.com", "Circle Of Life");
  const std::string nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
  BOOST_TEST(digestResponse(DigestAlgorithm::Md5, ha1, nonce, "00000001", "0a4f113b", "auth", "GET",
                            "/dir/index.html") == "6629fae49393a05397450978507c4ef1");
  // H(HA1:nonce:HA2), computed independently (Python hashlib).
  BOOST_TEST(digestResponse(DigestAlgorithm::Md5, ha1, nonce, "", "", "", "GET",
                            "/dir/index.html") == "670fd8c2df070c60b045671b8b24ff02");
}

// One challenge per response by default: the first algorithm of `algorithms`
// (MD5, SHA-256) the user has an HA1 for.
BOOST_FIXTURE_TEST_CASE(one_challenge_per_user_by_default, Fixture) {
  const auto c = auth.challenges("alice");  // both HA1s: MD5, the first
  BOOST_REQUIRE(c.size() == 1u);
  const std::string n = nonceOf(c[0]);
  BOOST_TEST(c[0] ==
             "Digest realm=\"example.com\", nonce=\"" + n + "\", algorithm=MD5, qop=\"auth\"");
  BOOST_TEST(
      n.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
      std::string::npos);
  BOOST_TEST(nonceOf(auth.challenges("alice")[0]) != n);  // salted: fresh every time

  const auto bob = auth.challenges("bob");  // MD5 only
  BOOST_REQUIRE(bob.size() == 1u);
  BOOST_TEST(bob[0].find("algorithm=MD5") != std::string::npos);
  const auto carol = auth.challenges("carol");  // SHA-256 only
  BOOST_REQUIRE(carol.size() == 1u);
  BOOST_TEST(carol[0].find("algorithm=SHA-256") != std::string::npos);

  const auto s = auth.challenges("carol", true);
  BOOST_REQUIRE(s.size() == 1u);
  BOOST_TEST(s[0].find("algorithm=SHA-256") != std::string::npos);
  BOOST_TEST(s[0].ends_with(", stale=true"));
  BOOST_TEST(auth.realm() == kRealm);
}

BOOST_AUTO_TEST_CASE(the_preferred_algorithm_comes_first) {
  beckon::ManualClock clock;
  DigestConfig c = config();
  c.algorithms = {DigestAlgorithm::Sha256, DigestAlgorithm::Md5};
  const DigestAuthenticator shaFirst(c, clock);
  BOOST_TEST(shaFirst.challenges("alice").at(0).find("algorithm=SHA-256") != std::string::npos);
  BOOST_TEST(shaFirst.challenges("bob").at(0).find("algorithm=MD5") != std::string::npos);
}

// A name nobody has gets the algorithm of one of the users, always the same
// for that name, in the users' mix: the challenge does not tell names apart.
BOOST_AUTO_TEST_CASE(unknown_names_get_the_users_mix) {
  beckon::ManualClock clock;
  const DigestAuthenticator auth(config(), clock);  // alice, bob: MD5; carol: SHA-256
  int sha256 = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string name = "nobody" + std::to_string(i);
    const auto c = auth.challenges(name);
    BOOST_REQUIRE(c.size() == 1u);
    const bool sha = c[0].find("algorithm=SHA-256") != std::string::npos;
    sha256 += sha;
    BOOST_TEST((auth.challenges(name)[0].find("algorithm=SHA-256") != std::string::npos) == sha);
  }
  BOOST_TEST(sha256 > 800);  // about a third
  BOOST_TEST(sha256 < 1200);
  // Another process with the same users picks the same (a restart changes nothing).
  const DigestAuthenticator again(config(), clock);
  for (int i = 0; i < 50; ++i) {
    const std::string name = "nobody" + std::to_string(i);
    BOOST_TEST((auth.challenges(name)[0].find("SHA-256") != std::string::npos) ==
               (again.challenges(name)[0].find("SHA-256") != std::string::npos));
  }
}

// offer = "all": one challenge per algorithm, in order (RFC 8760).
BOOST_AUTO_TEST_CASE(all_offers_every_algorithm_in_order) {
  beckon::ManualClock clock;
  DigestConfig c = config();
  c.offer = DigestOffer::All;
  const DigestAuthenticator all(c, clock);
  const auto both = all.challenges("bob");
  BOOST_REQUIRE(both.size() == 2u);
  const std::string n = nonceOf(both[0]);
  BOOST_TEST(both[0] ==
             "Digest realm=\"example.com\", nonce=\"" + n + "\", algorithm=MD5, qop=\"auth\"");
  BOOST_TEST(both[1] ==
             "Digest realm=\"example.com\", nonce=\"" + n + "\", algorithm=SHA-256, qop=\"auth\"");
  const auto s = all.challenges("alice", true);
  BOOST_TEST(s[0].ends_with(", stale=true"));
  BOOST_TEST(s[1].ends_with(", stale=true"));

  c.algorithms = {DigestAlgorithm::Sha256, DigestAlgorithm::Md5};
  const DigestAuthenticator shaFirst(c, clock);
  const auto reversed = shaFirst.challenges("alice");
  BOOST_REQUIRE(reversed.size() == 2u);
  BOOST_TEST(reversed[0].find("algorithm=SHA-256") != std::string::npos);
  BOOST_TEST(reversed[1].find("algorithm=MD5") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(only_the_configured_algorithms) {
  beckon::ManualClock clock;
  DigestConfig c = config();
  c.algorithms = {DigestAlgorithm::Sha256};
  const DigestAuthenticator shaOnly(c, clock);
  // bob has no SHA-256 HA1: as a name nobody has, SHA-256 too.
  for (const char* user : {"alice", "bob", "carol"}) {
    BOOST_REQUIRE(shaOnly.challenges(user).size() == 1u);
    BOOST_TEST(shaOnly.challenges(user)[0].find("algorithm=SHA-256") != std::string::npos);
  }
  const std::string n = nonceOf(shaOnly.challenges("alice").front());
  BOOST_TEST(shaOnly.verify(answer(n, "alice", "secret", DigestAlgorithm::Sha256), "REGISTER") ==
             DigestAuthenticator::Verdict::Ok);
  // Right, but with an algorithm not offered.
  BOOST_TEST(shaOnly.verify(answer(n, "alice", "secret", DigestAlgorithm::Md5), "REGISTER") ==
             DigestAuthenticator::Verdict::Failed);
}

BOOST_AUTO_TEST_CASE(all_offers_only_algorithms_some_user_has) {
  beckon::ManualClock clock;
  DigestConfig c = config();
  c.offer = DigestOffer::All;
  c.users.erase(c.users.begin());  // bob: MD5 only, carol: SHA-256 only
  c.users.pop_back();
  const DigestAuthenticator md5Only(c, clock);
  BOOST_REQUIRE(md5Only.challenges("bob").size() == 1u);
  BOOST_TEST(md5Only.challenges("bob")[0].find("algorithm=MD5") != std::string::npos);

  c.users.clear();  // nobody: both offered, nobody gets in
  const DigestAuthenticator nobody(c, clock);
  BOOST_TEST(nobody.challenges("x").size() == 2u);
  c.offer = DigestOffer::PerUser;  // nobody, one challenge: the first algorithm
  const DigestAuthenticator nobodyOne(c, clock);
  BOOST_REQUIRE(nobodyOne.challenges("x").size() == 1u);
  BOOST_TEST(nobodyOne.challenges("x")[0].find("algorithm=MD5") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(sha256_and_md5_both_accepted, Fixture) {
  BOOST_TEST(auth.verify(answer(nonce(), "alice", "secret", DigestAlgorithm::Sha256), "REGISTER") ==
             Verdict::Ok);
  BOOST_TEST(auth.verify(answer(nonce(), "alice", "secret", DigestAlgorithm::Md5), "REGISTER") ==
             Verdict::Ok);
  BOOST_TEST(auth.verify(answer(nonce(), "bob", "hunter2", DigestAlgorithm::Md5), "REGISTER") ==
             Verdict::Ok);
  BOOST_TEST(auth.verify(answer(nonce(), "carol", "pa55", DigestAlgorithm::Sha256, "SUBSCRIBE"),
                         "SUBSCRIBE") == Verdict::Ok);

  DigestResponse r = answer(nonce(), "alice", "secret", DigestAlgorithm::Md5);
  r.algorithm = "";  // absent means MD5
  BOOST_TEST(auth.verify(r, "REGISTER") == Verdict::Ok);
  r = answer(nonce(), "alice", "secret", DigestAlgorithm::Sha256);
  r.algorithm = "sha-256";  // tokens are case-insensitive
  for (char& ch : r.response)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  BOOST_TEST(auth.verify(r, "REGISTER") == Verdict::Ok);
}

BOOST_FIXTURE_TEST_CASE(qop_auth_required, Fixture) {
  const std::string n = nonce();
  DigestResponse r = answer(n, "alice", "secret", DigestAlgorithm::Md5);
  r.qop = r.nc = r.cnonce = "";
  r.response = digestResponse(DigestAlgorithm::Md5,
                              digestHa1(DigestAlgorithm::Md5, "alice", kRealm, "secret"), n, "", "",
                              "", "REGISTER", r.uri);
  // The RFC 2069 form, right but without qop: it could be replayed at will.
  BOOST_TEST(auth.verify(r, "REGISTER") == Verdict::Failed);
  for (const char* nc : {"", "0", "00000000", "123456789", "0000000g", "-1"}) {
    r = answer(n, "alice", "secret");
    r.nc = nc;
    r.response = digestResponse(DigestAlgorithm::Sha256,
                                digestHa1(DigestAlgorithm::Sha256, "alice", kRealm, "secret"), n,
                                r.nc, r.cnonce, r.qop, "REGISTER", r.uri);
    BOOST_TEST(auth.verify(r, "REGISTER") == Verdict::Failed, "nc=" << nc);
  }

  r = answer(n, "alice", "secret");
  r.qop = "auth-int";
  BOOST_TEST(auth.verify(r, "REGISTER") == Verdict::Failed);
  r = answer(n, "alice", "secret");
  r.cnonce = "";
  BOOST_TEST(auth.verify(r, "REGISTER") == Verdict::Failed);
  r = answer(n, "alice", "secret");
  r.algorithm = "MD5-sess";
  BOOST_TEST(auth.verify(r, "REGISTER") == Verdict::Failed);
}

BOOST_FIXTURE_TEST_CASE(wrong_password_and_unknown_user_look_the_same, Fixture) {
  BOOST_TEST(auth.verify(answer(nonce(), "alice", "Secret"), "REGISTER") == Verdict::Failed);
  BOOST_TEST(auth.verify(answer(nonce(), "mallory", "secret"), "REGISTER") == Verdict::Failed);
  BOOST_TEST(auth.verify(answer(nonce(), "", "secret"), "REGISTER") == Verdict::Failed);
  // bob has no SHA-256 HA1, carol no MD5 one: as if unknown.
  BOOST_TEST(auth.verify(answer(nonce(), "bob", "hunter2", DigestAlgorithm::Sha256), "REGISTER") ==
             Verdict::Failed);
  BOOST_TEST(auth.verify(answer(nonce(), "carol", "pa55", DigestAlgorithm::Md5), "REGISTER") ==
             Verdict::Failed);
  // The method enters the digest.
  BOOST_TEST(auth.verify(answer(nonce(), "alice", "secret"), "SUBSCRIBE") == Verdict::Failed);
}

BOOST_FIXTURE_TEST_CASE(realm_and_uri_are_checked, Fixture) {
  DigestResponse r = answer(nonce(), "alice", "secret");
  r.realm = "example.org";
  r.response = digestResponse(DigestAlgorithm::Sha256,
                              digestHa1(DigestAlgorithm::Sha256, "alice", r.realm, "secret"),
                              r.nonce, r.nc, r.cnonce, r.qop, "REGISTER", r.uri);
  BOOST_TEST(auth.verify(r, "REGISTER") == Verdict::Failed);

  r = answer(nonce(), "alice", "secret");
  r.uri = "";
  r.response = digestResponse(DigestAlgorithm::Sha256,
                              digestHa1(DigestAlgorithm::Sha256, "alice", kRealm, "secret"),
                              r.nonce, r.nc, r.cnonce, r.qop, "REGISTER", "");
  BOOST_TEST(auth.verify(r, "REGISTER") == Verdict::Failed);
}

BOOST_FIXTURE_TEST_CASE(tampered_or_foreign_nonces_fail, Fixture) {
  const std::string n = nonce();
  BOOST_TEST(auth.verify(answer(n, "alice", "secret"), "REGISTER") == Verdict::Ok);
  // Every single character changed (timestamp, salt and MAC alike).
  for (std::size_t i = 0; i < n.size(); ++i) {
    std::string t = n;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    BOOST_TEST(auth.verify(answer(t, "alice", "secret"), "REGISTER") == Verdict::Failed,
               "position " << i);
  }
  BOOST_TEST(auth.verify(answer(n.substr(1), "alice", "secret"), "REGISTER") == Verdict::Failed);
  BOOST_TEST(auth.verify(answer(n + "AAAA", "alice", "secret"), "REGISTER") == Verdict::Failed);
  BOOST_TEST(auth.verify(answer(n + "=", "alice", "secret"), "REGISTER") == Verdict::Failed);
  BOOST_TEST(auth.verify(answer("dcd98b7102dd2f0e8b11d0f600bfb0c093", "alice", "secret"),
                         "REGISTER") == Verdict::Failed);
  // Another process (another secret), same realm and clock: its nonces are not ours.
  const DigestAuthenticator other(config(), clock);
  const std::string foreign = nonceOf(other.challenges("alice")[0]);
  BOOST_TEST(other.verify(answer(foreign, "alice", "secret"), "REGISTER") == Verdict::Ok);
  BOOST_TEST(auth.verify(answer(foreign, "alice", "secret"), "REGISTER") == Verdict::Failed);
}

BOOST_FIXTURE_TEST_CASE(an_old_nonce_is_stale_only_with_the_right_password, Fixture) {
  const std::string n = nonce();
  clock.advance(std::chrono::seconds(300));
  BOOST_TEST(auth.verify(answer(n, "alice", "secret"), "REGISTER") == Verdict::Ok);  // just in time
  clock.advance(std::chrono::seconds(1));
  BOOST_TEST(auth.verify(answer(n, "alice", "secret"), "REGISTER") == Verdict::Stale);
  BOOST_TEST(auth.verify(answer(n, "bob", "hunter2", DigestAlgorithm::Md5), "REGISTER") ==
             Verdict::Stale);
  BOOST_TEST(auth.verify(answer(n, "alice", "wrong"), "REGISTER") == Verdict::Failed);
  BOOST_TEST(auth.verify(answer(n, "mallory", "secret"), "REGISTER") == Verdict::Failed);
  // The device retries with the fresh nonce of the stale=true challenge.
  const std::string fresh = nonceOf(auth.challenges("alice", true)[0]);
  BOOST_TEST(auth.verify(answer(fresh, "alice", "secret"), "REGISTER") == Verdict::Ok);
}

// RFC 7616 3.4: the same nc twice on a nonce is a replay.
BOOST_FIXTURE_TEST_CASE(a_nonce_count_must_grow, Fixture) {
  const std::string n = nonce();
  const auto at = [&](const char* nc, const char* password = "secret",
                      DigestAlgorithm a = DigestAlgorithm::Sha256) {
    DigestResponse r = answer(n, "alice", password, a);
    r.nc = nc;
    r.response = digestResponse(a, digestHa1(a, "alice", kRealm, password), n, r.nc, r.cnonce,
                                r.qop, "REGISTER", r.uri);
    return auth.verify(r, "REGISTER");
  };
  BOOST_TEST(at("00000001") == Verdict::Ok);
  BOOST_TEST(at("00000001") == Verdict::Replayed);  // the same request again
  BOOST_TEST(at("00000001", "secret", DigestAlgorithm::Md5) == Verdict::Replayed);
  BOOST_TEST(at("00000003") == Verdict::Ok);  // counts may skip
  BOOST_TEST(at("00000002") == Verdict::Replayed);
  BOOST_TEST(at("0000000A") == Verdict::Ok);  // hex, either case
  BOOST_TEST(at("0000000a") == Verdict::Replayed);
  BOOST_TEST(at("0000000b", "wrong") == Verdict::Failed);  // a wrong one counts nothing
  BOOST_TEST(at("0000000b") == Verdict::Ok);
  // A REGISTER's retransmission (same Call-ID, CSeq, branch) passes again.
  DigestResponse r = answer(n, "alice", "secret");
  r.nc = "0000000c";
  r.response = digestResponse(DigestAlgorithm::Sha256,
                              digestHa1(DigestAlgorithm::Sha256, "alice", kRealm, "secret"), n,
                              r.nc, r.cnonce, r.qop, "REGISTER", r.uri);
  BOOST_TEST(auth.verify(r, "REGISTER", "call 2 z9hG4bKa") == Verdict::Ok);
  BOOST_TEST(auth.verify(r, "REGISTER", "call 2 z9hG4bKa") == Verdict::Ok);
  BOOST_TEST(auth.verify(r, "REGISTER", "call 3 z9hG4bKb") == Verdict::Replayed);
  BOOST_TEST(auth.verify(r, "REGISTER") == Verdict::Replayed);
  // Another nonce has its own count; one nobody used yet starts anywhere.
  const std::string other = nonce();
  BOOST_TEST(auth.verify(answer(other, "bob", "hunter2", DigestAlgorithm::Md5), "REGISTER") ==
             Verdict::Ok);
  // An old nonce is stale before its count is looked at.
  clock.advance(std::chrono::seconds(301));
  BOOST_TEST(at("0000000d") == Verdict::Stale);
  BOOST_TEST(at("00000001") == Verdict::Stale);
}

BOOST_AUTO_TEST_CASE(nonce_counts_are_bounded_and_never_forget_into_a_replay) {
  NonceCounts counts(3);
  const std::int64_t now = 1000, life = 300;
  BOOST_TEST(counts.use("a", 900, 1, "", now, life));
  BOOST_TEST(counts.use("b", 901, 1, "", now, life));
  BOOST_TEST(counts.use("c", 902, 1, "", now, life));
  BOOST_TEST(!counts.use("a", 900, 1, "", now, life));
  BOOST_TEST(counts.use("d", 903, 1, "", now, life));  // "a" (issued first) is forgotten
  BOOST_TEST(counts.size() == 3u);
  BOOST_TEST(!counts.use("a", 900, 2, "", now, life));  // forgotten: refused, never taken anew
  BOOST_TEST(!counts.use("z", 899, 1, "", now, life));  // issued before: perhaps seen
  BOOST_TEST(counts.use("b", 901, 2, "", now, life));   // still known
  BOOST_TEST(counts.use("e", 950, 7, "", now, life));   // issued later: first use
  // Expired nonces go by themselves.
  BOOST_TEST(counts.use("f", 1300, 1, "", 1302, life));
  BOOST_TEST(counts.size() == 1u);
  // A retransmission: the same count with the same request key.
  BOOST_TEST(counts.use("g", 1301, 4, "call-1 1 z9hG4bK1", 1302, life));
  BOOST_TEST(counts.use("g", 1301, 4, "call-1 1 z9hG4bK1", 1302, life));
  BOOST_TEST(!counts.use("g", 1301, 4, "call-1 2 z9hG4bK2", 1302, life));
  BOOST_TEST(!counts.use("g", 1301, 4, "", 1302, life));
  BOOST_TEST(!counts.use("g", 1301, 3, "call-1 1 z9hG4bK1", 1302, life));
  BOOST_TEST(parseNonceCount("00000001") == 1u);
  BOOST_TEST(parseNonceCount("ffffffff") == 0xffffffffu);
  BOOST_TEST(parseNonceCount("1") == 1u);
  BOOST_TEST(parseNonceCount("") == 0u);
  BOOST_TEST(parseNonceCount("x") == 0u);
}

BOOST_AUTO_TEST_CASE(sofia_params_are_parsed) {
  const char* const params[] = {"username=\"7546658000\"",
                                "Realm=\"example.com\"",
                                "nonce=\"abc-_123\"",
                                "uri=\"sip:example.com;transport=tcp\"",
                                "response=\"8ca523f5e9506fed4657c9700eebdbec\"",
                                "algorithm=SHA-256",
                                "cnonce=\"a \\\"quoted\\\" \\\\ cnonce\"",
                                "qop=auth",
                                "nc=00000001",
                                "opaque=\"\"",
                                "userhash=false",
                                "junk",
                                nullptr};
  const DigestResponse r = parseDigestParams(params);
  BOOST_TEST(r.username == "7546658000");
  BOOST_TEST(r.realm == "example.com");
  BOOST_TEST(r.nonce == "abc-_123");
  BOOST_TEST(r.uri == "sip:example.com;transport=tcp");
  BOOST_TEST(r.response == "8ca523f5e9506fed4657c9700eebdbec");
  BOOST_TEST(r.algorithm == "SHA-256");
  BOOST_TEST(r.cnonce == "a \"quoted\" \\ cnonce");
  BOOST_TEST(r.qop == "auth");
  BOOST_TEST(r.nc == "00000001");
  BOOST_TEST(r.opaque == "");

  const char* const spaced[] = {" qop = \"auth\" ", "NC=00000002", nullptr};
  const DigestResponse s = parseDigestParams(spaced);
  BOOST_TEST(s.qop == "auth");
  BOOST_TEST(s.nc == "00000002");
  BOOST_TEST(parseDigestParams(nullptr).username == "");
}

BOOST_FIXTURE_TEST_CASE(parsed_params_verify, Fixture) {
  const DigestResponse a = answer(nonce(), "alice", "secret");
  const std::string u = "username=\"" + a.username + "\"", re = "realm=\"" + a.realm + "\"",
                    no = "nonce=\"" + a.nonce + "\"", ur = "uri=\"" + a.uri + "\"",
                    rs = "response=\"" + a.response + "\"", cn = "cnonce=\"" + a.cnonce + "\"";
  const char* const params[] = {
      u.c_str(),           re.c_str(), no.c_str(), ur.c_str(),    rs.c_str(),
      "algorithm=SHA-256", cn.c_str(), "qop=auth", "nc=00000001", nullptr};
  BOOST_TEST(auth.verify(parseDigestParams(params), "REGISTER") == Verdict::Ok);
}

BOOST_AUTO_TEST_CASE(which_methods_need_credentials) {
  SipAuthConfig c;
  BOOST_TEST(!c.needsCredentials("REGISTER"));  // no [sip.auth]: nothing
  c.auth = config();
  BOOST_TEST(c.needsCredentials("REGISTER"));
  BOOST_TEST(c.needsCredentials("SUBSCRIBE"));
  BOOST_TEST(!c.needsCredentials("OPTIONS"));
  c.authMethods = {"REGISTER"};
  BOOST_TEST(!c.needsCredentials("SUBSCRIBE"));
}

BOOST_AUTO_TEST_SUITE_END()
