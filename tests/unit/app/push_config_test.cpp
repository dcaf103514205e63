// [push] and [[push.provider]] (app/config_push.cpp).
#include <boost/test/unit_test.hpp>

#include "config.h"
#include "refusal.h"

using namespace beckon::app;

using beckon::app::test::refusal;
using beckon::app::test::starts;

namespace {

const std::string kApns =
    "[[push.provider]]\nname = \"apns\"\nurl = \"https://push.example.com/apns\"\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(push_config)

BOOST_AUTO_TEST_CASE(without_push_nothing_is_pushed) {
  const Config c = parseConfig("");
  BOOST_TEST(c.push.providers.empty());
  BOOST_TEST(c.sip.registrar.pushProviders.empty());
}

BOOST_AUTO_TEST_CASE(providers_and_their_defaults_are_read) {
  const Config c =
      parseConfig("[push]\nwait_ms = 20000\ntimeout_ms = 3000\nrefresh_before_s = 0\n" + kApns +
                  "[[push.provider]]\nname = \"fcm\"\nurl = \"http://10.0.0.1/fcm\"\n"
                  "wait_ms = 5000\ntimeout_ms = 700\n"
                  "headers = [\"Authorization: Bearer x\"]\n"
                  "basic_auth = { user = \"beckon\", password = \"pw\" }\n");
  BOOST_TEST_REQUIRE(c.push.providers.size() == 2u);
  const auto& apns = c.push.providers[0];
  BOOST_TEST(apns.name == "apns");
  BOOST_TEST(apns.url == "https://push.example.com/apns");
  BOOST_TEST(apns.wait.count() == 20000);
  BOOST_TEST(apns.timeout.count() == 3000);
  BOOST_TEST(apns.headers.empty());
  const auto& fcm = c.push.providers[1];
  BOOST_TEST(fcm.wait.count() == 5000);
  BOOST_TEST(fcm.timeout.count() == 700);
  BOOST_TEST(fcm.headers == std::vector<std::string>{"Authorization: Bearer x"});
  BOOST_TEST(fcm.basicUser == "beckon");
  BOOST_TEST(fcm.basicPassword == "pw");
  BOOST_TEST(c.push.refreshBefore.count() == 0);
  BOOST_TEST((c.sip.registrar.pushProviders == std::vector<std::string>{"apns", "fcm"}));
  const Config d = parseConfig(kApns);
  BOOST_TEST(d.push.providers.at(0).wait.count() == 30000);
  BOOST_TEST(d.push.providers.at(0).timeout.count() == 5000);
  BOOST_TEST(d.push.refreshBefore.count() == 120);
}

BOOST_AUTO_TEST_CASE(push_mistakes_name_the_key) {
  BOOST_TEST(starts(refusal("[push]\n"), "push.provider: at least one [[push.provider]]"));
  BOOST_TEST(starts(refusal("[push]\nwait = 3\n" + kApns), "push.wait: unknown key"));
  BOOST_TEST(starts(refusal("[push]\nwait_ms = 10\n" + kApns), "push.wait_ms: must be between"));
  BOOST_TEST(starts(refusal("[push]\nprovider = 1"), "push.provider: must be an array of tables"));
  BOOST_TEST(starts(refusal("[push]\nca = \"/nonexistent/ca.pem\"\n" + kApns), "push.ca: "));
  BOOST_TEST(starts(refusal("[[push.provider]]\nurl = \"http://x/\"\n"),
                    "push.provider[0].name: required"));
  BOOST_TEST(starts(refusal("[[push.provider]]\nname = \"a b\"\nurl = \"http://x/\"\n"),
                    "push.provider[0].name: "));
  BOOST_TEST(starts(refusal(kApns + "[[push.provider]]\nname = \"APNS\"\nurl = \"http://x/\"\n"),
                    "push.provider[1].name: 'APNS' is used twice"));
  BOOST_TEST(
      starts(refusal("[[push.provider]]\nname = \"apns\"\n"), "push.provider.apns.url: required"));
  BOOST_TEST(starts(refusal("[[push.provider]]\nname = \"apns\"\nurl = \"ftp://x/\"\n"),
                    "push.provider.apns.url: "));
  BOOST_TEST(starts(refusal(kApns + "timeout_ms = 99\n"), "push.provider.apns.timeout_ms: "));
  BOOST_TEST(starts(refusal(kApns + "headers = [\"no colon\"]\n"), "push.provider.apns.headers: "));
  BOOST_TEST(
      starts(refusal(kApns + "headers = [\"X: a\\r\\nY: b\"]\n"), "push.provider.apns.headers: "));
  BOOST_TEST(starts(refusal(kApns + "basic_auth = { password = \"x\" }\n"),
                    "push.provider.apns.basic_auth.user: required"));
  BOOST_TEST(starts(refusal(kApns + "token = \"x\"\n"), "push.provider[0].token: unknown key"));
}

BOOST_AUTO_TEST_CASE(push_needs_a_restart) {
  const Config a = parseConfig(kApns);
  const Config b = parseConfig(kApns + "wait_ms = 5000\n");
  const auto keys = keysNeedingRestart(a, b);
  BOOST_TEST((std::find(keys.begin(), keys.end(), "push") != keys.end()));
}

BOOST_AUTO_TEST_SUITE_END()
