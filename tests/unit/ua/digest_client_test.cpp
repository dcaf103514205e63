#include <boost/test/unit_test.hpp>

#include "digest_client.h"

using namespace beckon::ua;

namespace {

// RFC 7616 section 3.9.1.
DigestChallenge rfc7616(const std::string& algorithm) {
  const char* params[] = {"realm=\"http-auth@example.org\"",
                          "qop=\"auth, auth-int\"",
                          nullptr,
                          "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\"",
                          "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"",
                          nullptr};
  const std::string alg = "algorithm=" + algorithm;
  params[2] = alg.c_str();
  return challengeOf("Digest", params);
}

const DigestInput kMufasa{"Mufasa",
                          "Circle of Life",
                          "GET",
                          "/dir/index.html",
                          "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
                          1};

}  // namespace

BOOST_AUTO_TEST_SUITE(digest_client)

BOOST_AUTO_TEST_CASE(rfc7616_examples) {
  const std::string sha = digestAuthorization(rfc7616("SHA-256"), kMufasa);
  BOOST_TEST(
      sha.find("response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\"") !=
      std::string::npos);
  BOOST_TEST(sha.find("algorithm=SHA-256") != std::string::npos);
  BOOST_TEST(sha.find("qop=auth, nc=00000001") != std::string::npos);
  BOOST_TEST(sha.find("opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"") !=
             std::string::npos);
  const std::string md5 = digestAuthorization(rfc7616("MD5"), kMufasa);
  BOOST_TEST(md5.find("response=\"8ca523f5e9506fed4657c9700eebdbec\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(sha256_preferred_then_md5) {
  const auto md5 = rfc7616("MD5"), sha = rfc7616("SHA-256"), other = rfc7616("SHA-512-256");
  BOOST_TEST(pickChallenge({md5, sha})->params.at("algorithm") == "SHA-256");
  BOOST_TEST(pickChallenge({other, md5})->params.at("algorithm") == "MD5");
  BOOST_TEST(!pickChallenge({other}).has_value());
  const char* intOnly[] = {"realm=\"r\"", "nonce=\"n\"", "qop=\"auth-int\"", nullptr};
  BOOST_TEST(!pickChallenge({challengeOf("Digest", intOnly)}).has_value());
  const char* noQop[] = {"realm=\"r\"", "nonce=\"n\"", nullptr};
  const auto c = pickChallenge({challengeOf("Digest", noQop)});
  BOOST_REQUIRE(c);
  BOOST_TEST(digestAuthorization(*c, kMufasa).find("qop") == std::string::npos);  // RFC 2069 form
}

BOOST_AUTO_TEST_SUITE_END()
