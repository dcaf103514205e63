#include <boost/test/unit_test.hpp>

#include "printers.h"
#include "policy.h"

using namespace beckon;
using namespace std::chrono_literals;

namespace {

const std::string kPkg = kDefaultPackage;

Policy twoServers() {
  AppServerRights crm{
      "crm", {kPkg}, {"crm.example.com:8443", "198.51.100.7:*", "*.crm.example.com:443"}, {}, false,
      0,     ""};
  AppServerRights trigger{"trigger", {kPkg}, {}, {"crm"}, true, 2, ""};
  return Policy({crm, trigger}, {kPkg, "other"});
}

FaultCode faultOf(auto&& f) {
  try {
    f();
  } catch (const Fault& e) {
    return e.code();
  }
  BOOST_FAIL("no fault");
  return FaultCode::Unavailable;
}

ContactMeParams req(std::string server) {
  ContactMeParams p;
  p.deviceId = "100";
  p.requestId = "r1";
  p.server = std::move(server);
  return p;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(policy)

BOOST_AUTO_TEST_CASE(callback_patterns) {
  const std::vector<std::string> pats{"crm.example.com:8443", "198.51.100.7:*",
                                      "*.crm.example.com:443", "[2001:db8::1]:*"};
  BOOST_TEST(callbackAllowed(pats, "crm.example.com:8443"));
  BOOST_TEST(callbackAllowed(pats, "CRM.example.com:8443"));
  BOOST_TEST(!callbackAllowed(pats, "crm.example.com:8444"));
  BOOST_TEST(!callbackAllowed(pats, "crm.example.com"));  // no port: only "*" patterns
  BOOST_TEST(callbackAllowed(pats, "198.51.100.7"));
  BOOST_TEST(callbackAllowed(pats, "198.51.100.7:1"));
  BOOST_TEST(callbackAllowed(pats, "eu.crm.example.com:443"));
  BOOST_TEST(!callbackAllowed(pats, "crm.example.com:443"));
  BOOST_TEST(!callbackAllowed(pats, "evilcrm.example.com:443"));
  BOOST_TEST(callbackAllowed(pats, "[2001:DB8::1]:8443"));
  BOOST_TEST(!callbackAllowed(pats, "attacker.example.net:8443"));
}

BOOST_AUTO_TEST_CASE(rights_are_checked_before_anything_is_sent) {
  Policy p = twoServers();
  const AppServerRights& crm = p.actingAs("crm", "");
  BOOST_CHECK_NO_THROW(p.checkContactMe(crm, req("crm.example.com:8443")));
  BOOST_CHECK_NO_THROW(p.checkContactMe(crm, req("")));  // the device's configured server
  BOOST_TEST(faultOf([&] { p.checkContactMe(crm, req("attacker.example.net:8443")); }) ==
             FaultCode::NotAuthorized);
  auto alt = req("crm.example.com:8443");
  alt.alternateServers = {"attacker.example.net:1"};
  BOOST_TEST(faultOf([&] { p.checkContactMe(crm, alt); }) == FaultCode::NotAuthorized);
  auto other = req("");
  other.package = "other";
  BOOST_TEST(faultOf([&] { p.checkContactMe(crm, other); }) == FaultCode::NotAuthorized);
  BOOST_TEST(faultOf([&] { p.actingAs("nobody", ""); }) == FaultCode::NotAuthorized);
}

BOOST_AUTO_TEST_CASE(on_behalf_of_only_for_the_servers_listed) {
  Policy p = twoServers();
  BOOST_TEST(p.actingAs("trigger", "crm").name == "crm");
  BOOST_TEST(faultOf([&] { p.actingAs("crm", "trigger"); }) == FaultCode::NotAuthorized);
  BOOST_TEST(faultOf([&] { p.actingAs("trigger", "nobody"); }) == FaultCode::NotAuthorized);
}

BOOST_AUTO_TEST_CASE(get_device_only_where_allowed) {
  Policy p = twoServers();
  BOOST_CHECK_NO_THROW(p.checkGetDevice("trigger"));
  BOOST_TEST(faultOf([&] { p.checkGetDevice("crm"); }) == FaultCode::NotAuthorized);
}

BOOST_AUTO_TEST_CASE(open_policy_is_one_local_server) {
  Policy p({}, {kPkg});
  BOOST_TEST(p.open());
  const AppServerRights& local = p.actingAs("local", "");
  BOOST_CHECK_NO_THROW(p.checkContactMe(local, req("anything.example.org:1")));
  BOOST_TEST(faultOf([&] { p.actingAs("local", "crm"); }) == FaultCode::NotAuthorized);
}

BOOST_AUTO_TEST_CASE(rate_limit_is_a_token_bucket) {
  RateLimiter r;
  const auto t = std::chrono::steady_clock::now();
  BOOST_TEST(r.allow("a", 2, t));
  BOOST_TEST(r.allow("a", 2, t));
  BOOST_TEST(!r.allow("a", 2, t));          // burst of 2 spent
  BOOST_TEST(r.allow("b", 2, t));           // per server
  BOOST_TEST(!r.allow("a", 2, t + 400ms));  // 0.8 token
  BOOST_TEST(r.allow("a", 2, t + 500ms));
  BOOST_TEST(r.allow("a", 0, t));  // 0: no limit
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(replace_applies_new_rights_and_keeps_rates) {
  AppServerRights crm{"crm", {kPkg}, {"crm.example.com:*"}, {}, false, 1, ""};
  Policy p({crm}, {kPkg});
  BOOST_TEST(faultOf([&] {
               p.checkContactMe(p.actingAs("crm", ""), req("other.example.com:1"));
             }) == FaultCode::NotAuthorized);
  BOOST_CHECK_NO_THROW(p.checkRate("crm"));  // the one token of the burst
  BOOST_TEST(faultOf([&] { p.checkRate("crm"); }) == FaultCode::Overloaded);
  const AppServerRights before = p.actingAs("crm", "");

  crm.callbackServers.push_back("other.example.com:*");
  AppServerRights billing{"billing", {kPkg}, {}, {}, true, 0, ""};
  p.replace({crm, billing});
  BOOST_CHECK_NO_THROW(p.checkContactMe(p.actingAs("crm", ""), req("other.example.com:1")));
  BOOST_CHECK_NO_THROW(p.checkGetDevice("billing"));
  BOOST_TEST(faultOf([&] { p.checkRate("crm"); }) == FaultCode::Overloaded);  // same bucket
  BOOST_TEST(before.callbackServers.size() == 1u);  // a copy taken before stays as it was

  p.replace({});
  BOOST_TEST(p.open());
  BOOST_TEST(faultOf([&] { p.actingAs("crm", ""); }) == FaultCode::NotAuthorized);
  BOOST_TEST(p.find("local").has_value());
}
