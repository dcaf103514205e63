#include <boost/test/unit_test.hpp>

#include "reconstruction.h"
#include "sdp.h"

using namespace beckon::ua;

BOOST_AUTO_TEST_SUITE(reconstruction)

BOOST_AUTO_TEST_CASE(refer_to_names_the_sender_its_role_and_the_dialog_escaped) {
  const ReplacesTarget d{"a84b4c76e66710@pc33.example.com", "1928301774", "a6c85cf"};
  BOOST_TEST(referToValue("sip:alice@example.com", true, d) ==
             "<sip:alice@example.com;call-reconstruction-org?Replaces="
             "a84b4c76e66710%40pc33.example.com%3Bto-tag%3D1928301774%3Bfrom-tag%3Da6c85cf>");
  BOOST_TEST(referToValue("sip:kate@example.com", false, d).find(";call-reconstruction-term?") !=
             std::string::npos);
  // What a URI header cannot hold is escaped (and "?"); the rest of RFC
  // 3261 hvalue not.
  BOOST_TEST(hvalueEscape("a b&c=d;e?f:g/h+$[]") == "a%20b%26c%3Dd%3Be%3Ff:g/h+$[]");
  BOOST_TEST(hvalueEscape(std::string("\xff\x00<>", 4)) == "%FF%00%3C%3E");
}

BOOST_AUTO_TEST_CASE(state_header_round_trip) {
  const std::string v = stateHeaderValue(12, 4242, 4245, "<sip:alice@127.0.0.1:5070>");
  BOOST_TEST(v == "cseq=12;session=4242;version=4245;contact=\"<sip:alice@127.0.0.1:5070>\"");
  BOOST_TEST(stateParam(v, "cseq") == "12");
  BOOST_TEST(stateParam(v, "session") == "4242");
  BOOST_TEST(stateParam(v, "version") == "4245");
  BOOST_TEST(stateParam(v, "contact") == "<sip:alice@127.0.0.1:5070>");
  BOOST_TEST(stateParam(v, "missing") == "");
  BOOST_TEST(stateParam("", "cseq") == "");
}

BOOST_AUTO_TEST_CASE(accessible_since_is_an_http_date) {
  const auto t = httpDate("Tue, 08 Dec 2026 01:02:03 GMT");
  BOOST_REQUIRE(t.has_value());
  BOOST_TEST(*t == 1796691723);
  BOOST_TEST(!httpDate("2026-12-08T01:02:03Z").has_value());
  BOOST_TEST(!httpDate("Tue, 08 Dec 2026 01:02:03 GMT trailing").has_value());
  BOOST_TEST(!httpDate("").has_value());
}

BOOST_AUTO_TEST_CASE(sdp_session_and_version) {
  const std::string offer = sdpOffer("127.0.0.1", 4242, 4243);
  BOOST_TEST(offer.find("o=beckon-ua 4242 4243 IN IP4 127.0.0.1\r\n") != std::string::npos);
  BOOST_TEST(sdpSessionOf(offer) == "4242");
  BOOST_TEST(sdpSessionOf("v=0\r\n") == "");
}

BOOST_AUTO_TEST_SUITE_END()
