#include <boost/test/unit_test.hpp>

#include <stdexcept>

#include "callback_plan.h"

using namespace beckon;
using namespace beckon::ua;

namespace {

NotifyContent pending(const std::string& server, std::vector<std::string> alts = {}) {
  NotifyContent c;
  c.state = "pending";
  c.requestId = "r1";
  c.server = server;
  c.protocol = "https";
  c.path = "/sync/inbox";
  c.altServers = std::move(alts);
  return c;
}

const CallbackDefaults kNoDefaults{"", "https"};

}  // namespace

BOOST_AUTO_TEST_SUITE(callback_plan)

BOOST_AUTO_TEST_CASE(hostports_are_checked_strictly) {
  BOOST_TEST(parseHostPort("crm.example.com")->port == "");
  BOOST_TEST(parseHostPort("crm.example.com:8443")->port == "8443");
  BOOST_TEST(parseHostPort("[2001:db8::7]:8443")->host == "[2001:db8::7]");
  BOOST_TEST(parseHostPort("192.0.2.1")->host == "192.0.2.1");
  for (const char* bad : {"", ":80", "evil.com#@crm.example.com", "evil.com/x", "a b", "h:0",
                          "h:65536", "h:8x", "[zz::1]", "[::1", "user@host", "h:80:81"})
    BOOST_TEST(!parseHostPort(bad).has_value(), bad);
}

BOOST_AUTO_TEST_CASE(trusted_server_then_trusted_alternates_in_order) {
  const TrustList trust({"crm.example.com", "198.51.100.7:8443", "*.backup.example"});
  const auto plan =
      planCallback(pending("crm.example.com:8443",
                           {"198.51.100.7:8443", "203.0.113.1:8443", "b.backup.example"}),
                   trust, kNoDefaults);
  BOOST_TEST(plan.refused == "");
  BOOST_REQUIRE(plan.targets.size() == 3u);
  BOOST_TEST(plan.targets[0].url == "https://crm.example.com:8443/sync/inbox");
  BOOST_TEST(plan.targets[1].url == "https://198.51.100.7:8443/sync/inbox");
  BOOST_TEST(plan.targets[2].url == "https://b.backup.example/sync/inbox");
  BOOST_TEST(plan.untrustedAlternates == std::vector<std::string>{"203.0.113.1:8443"});
}

BOOST_AUTO_TEST_CASE(an_untrusted_server_refuses_the_request) {
  const TrustList trust({"crm.example.com:8443"});
  BOOST_TEST(
      planCallback(pending("evil.example:8443", {"crm.example.com:8443"}), trust, kNoDefaults)
          .refused != "");
  BOOST_TEST(planCallback(pending("crm.example.com:9999"), trust, kNoDefaults).refused != "");
  // https without a port is 443
  BOOST_TEST(planCallback(pending("crm.example.com"), trust, kNoDefaults).refused != "");
  BOOST_TEST(
      planCallback(pending("crm.example.com"), TrustList({"crm.example.com:443"}), kNoDefaults)
          .refused == "");
  BOOST_TEST(planCallback(pending("crm.example.com:8443"), TrustList({}), kNoDefaults).refused !=
             "");
  BOOST_TEST(planCallback(pending("anything.example:1"), TrustList({"*"}), kNoDefaults).refused ==
             "");
}

BOOST_AUTO_TEST_CASE(no_server_uses_the_configured_one) {
  NotifyContent c = pending("");
  c.protocol = "";
  BOOST_TEST(planCallback(c, TrustList({}), kNoDefaults).refused != "");
  const auto plan = planCallback(c, TrustList({}), {"as.example:8080", "http"});
  BOOST_REQUIRE(plan.targets.size() == 1u);
  BOOST_TEST(plan.targets[0].url == "http://as.example:8080/sync/inbox");
}

BOOST_AUTO_TEST_CASE(protocol_and_path) {
  const TrustList trust({"*"});
  NotifyContent c = pending("h:1");
  c.protocol = "ftp";
  BOOST_TEST(planCallback(c, trust, kNoDefaults).refused != "");
  c.protocol = "HTTP";
  c.path = "";
  BOOST_TEST(planCallback(c, trust, kNoDefaults).targets.at(0).url == "http://h:1/");
  c.path = "relative";
  BOOST_TEST(planCallback(c, trust, kNoDefaults).refused != "");
  c = pending("[::1]:8443");
  BOOST_TEST(planCallback(c, TrustList({"[::1]"}), kNoDefaults).targets.at(0).url ==
             "https://[::1]:8443/sync/inbox");
}

BOOST_AUTO_TEST_CASE(malformed_trust_patterns_are_refused) {
  for (const char* bad : {"", "a b", "h:x", "h:0", "[::1", "evil/x:*"})
    BOOST_CHECK_THROW(TrustList({bad}), std::invalid_argument);
  BOOST_CHECK_NO_THROW(TrustList({"*", "*.example.com", "h:*", "[2001:db8::1]:443", "10.0.0.1"}));
}

BOOST_AUTO_TEST_SUITE_END()
