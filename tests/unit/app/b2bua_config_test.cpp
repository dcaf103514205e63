// [proxy] mode, [[proxy.user]] mode and [b2bua]: read, defaults, refusals
// naming the key.
#include <boost/test/unit_test.hpp>

#include "config.h"
#include "refusal.h"

using namespace beckon::app;

using beckon::app::test::refusal;
using beckon::app::test::starts;

BOOST_AUTO_TEST_SUITE(b2bua_config)

BOOST_AUTO_TEST_CASE(defaults) {
  const Config c = parseConfig("", "test.toml");
  BOOST_TEST((c.sip.proxy.mode == beckon::sip::CallMode::Proxy));
  BOOST_TEST(c.sip.proxy.b2bua.maxCalls == 1000u);
  BOOST_TEST(c.sip.proxy.b2bua.continuityTimeout.count() == 30);
  BOOST_TEST(c.sip.proxy.b2bua.sessionExpires.count() == 1800);
}

BOOST_AUTO_TEST_CASE(the_keys_are_read) {
  const Config c = parseConfig(
      "[proxy]\nmode = \"b2bua\"\n[[proxy.user]]\naor = \"sip:fax@example.com\"\nmode = "
      "\"proxy\"\n[[proxy.user]]\naor = \"sip:bob@example.com\"\n"
      "[b2bua]\nmax_calls = 5\ncontinuity_timeout_s = 7\nsession_expires_s = 0\n",
      "test.toml");
  BOOST_TEST((c.sip.proxy.mode == beckon::sip::CallMode::B2bua));
  BOOST_REQUIRE(c.sip.proxy.users.size() == 2u);
  BOOST_TEST((c.sip.proxy.users[0].mode == beckon::sip::CallMode::Proxy));
  BOOST_TEST(!c.sip.proxy.users[1].mode.has_value());  // [proxy] mode
  BOOST_TEST(c.sip.proxy.b2bua.maxCalls == 5u);
  BOOST_TEST(c.sip.proxy.b2bua.continuityTimeout.count() == 7);
  BOOST_TEST(c.sip.proxy.b2bua.sessionExpires.count() == 0);
}

BOOST_AUTO_TEST_CASE(refusals_name_the_key) {
  BOOST_TEST(starts(refusal("[proxy]\nmode = \"b2\""), "proxy.mode: 'b2' is not proxy or b2bua"));
  BOOST_TEST(starts(refusal("[[proxy.user]]\naor = \"sip:a@example.com\"\nmode = 1"),
                    "proxy.user.sip:a@example.com.mode: "));
  BOOST_TEST(starts(refusal("[b2bua]\nmax_calls = 0"), "b2bua.max_calls: "));
  BOOST_TEST(starts(refusal("[b2bua]\ncontinuity_timeout_s = 0"), "b2bua.continuity_timeout_s: "));
  BOOST_TEST(starts(refusal("[b2bua]\nsession_expires_s = 89"), "b2bua.session_expires_s: "));
  BOOST_TEST(starts(refusal("[b2bua]\nmax_call = 3"), "b2bua.max_call: unknown key"));
  BOOST_TEST(starts(refusal("b2bua = 1"), "b2bua: "));
}

BOOST_AUTO_TEST_SUITE_END()
