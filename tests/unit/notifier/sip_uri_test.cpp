#include <boost/test/unit_test.hpp>

#include "sip_uri.h"

// RFC 3261 19.1.4 and its examples.
BOOST_AUTO_TEST_SUITE(sip_uri)

BOOST_AUTO_TEST_CASE(the_rfc_examples_that_are_equal) {
  using beckon::sipUriEqual;
  BOOST_TEST(
      sipUriEqual("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"));
  BOOST_TEST(sipUriEqual("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"));
  BOOST_TEST(sipUriEqual("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;newparam=5"));
  BOOST_TEST(sipUriEqual("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
                         "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"));
  BOOST_TEST(sipUriEqual("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
                         "sip:alice@atlanta.com?priority=urgent&subject=project%20x"));
}

BOOST_AUTO_TEST_CASE(the_rfc_examples_that_are_not) {
  using beckon::sipUriEqual;
  BOOST_TEST(
      !sipUriEqual("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"));
  BOOST_TEST(!sipUriEqual("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
  BOOST_TEST(!sipUriEqual("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
  BOOST_TEST(!sipUriEqual("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"));
  BOOST_TEST(!sipUriEqual("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"));
  BOOST_TEST(!sipUriEqual("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"));
  BOOST_TEST(
      !sipUriEqual("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"));
}

BOOST_AUTO_TEST_CASE(scheme_user_password_and_ipv6) {
  using beckon::sipUriEqual;
  BOOST_TEST(!sipUriEqual("sips:alice@a.example", "sip:alice@a.example"));
  BOOST_TEST(!sipUriEqual("sip:example.com", "sips:example.com"));
  BOOST_TEST(!sipUriEqual("sip:example.com", "sip:example.org"));
  BOOST_TEST(!sipUriEqual("sip:example.com", "tel:+15551234"));
  BOOST_TEST(sipUriEqual("sip:example.com", "sip:EXAMPLE.com"));
  BOOST_TEST(sipUriEqual("SIPS:alice@a.example", "sips:alice@A.example"));
  BOOST_TEST(!sipUriEqual("sip:alice:secret@a.example", "sip:alice@a.example"));
  BOOST_TEST(sipUriEqual("sip:alice:s%65cret@a.example", "sip:alice:secret@a.example"));
  BOOST_TEST(sipUriEqual("sip:[2001:DB8::1]:5070", "sip:[2001:db8::1]:5070"));
  BOOST_TEST(!sipUriEqual("sip:[2001:db8::1]:5070", "sip:[2001:db8::1]"));
  BOOST_TEST(sipUriEqual("sip:+1212;phone-context=x@h.example;user=phone",
                         "sip:+1212;phone-context=x@H.example;User=Phone"));
  BOOST_TEST(!sipUriEqual("sip:a@h.example;maddr=239.255.255.1", "sip:a@h.example"));
  BOOST_TEST(!sipUriEqual("sip:a@h.example;ttl=15", "sip:a@h.example;ttl=16"));
}

BOOST_AUTO_TEST_CASE(text_that_is_no_sip_uri_compares_as_bytes) {
  using beckon::sipUriEqual;
  BOOST_TEST(sipUriEqual("tel:+1212", "tel:+1212"));
  BOOST_TEST(!sipUriEqual("tel:+1212", "TEL:+1212"));
  BOOST_TEST(!sipUriEqual("sip:[::1", "sip:[::1]"));
  BOOST_TEST(sipUriEqual("", ""));
  BOOST_TEST(sipUriEqual("sip:a@h%", "sip:a@h%"));  // a lone '%' is kept
  BOOST_TEST(
      sipUriEqual(std::string_view("sip:\xc3\x28@h", 8), std::string_view("sip:%c3%28@h", 12)));
}

BOOST_AUTO_TEST_SUITE_END()
