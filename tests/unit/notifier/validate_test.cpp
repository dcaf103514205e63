#include <boost/test/unit_test.hpp>

#include "printers.h"

#include "contact_request.h"
#include "fault.h"

using namespace beckon;

namespace {

const std::vector<std::string> kPackages{kDefaultPackage};

ContactMeParams ok() {
  ContactMeParams p;
  p.deviceId = "7546658000";
  p.requestId = "8e1f-0042";
  return p;
}

// The field an InvalidArgument fault names ("" if none was raised).
std::string rejected(const ContactMeParams& p) {
  try {
    validate(p, kPackages);
    return "";
  } catch (const Fault& f) {
    BOOST_TEST((f.code() == FaultCode::InvalidArgument));
    const std::string m = f.what();
    return m.substr(0, m.find(':'));
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(validate_request)

BOOST_AUTO_TEST_CASE(a_full_valid_request_passes) {
  ContactMeParams p = ok();
  p.server = "crm.example.com";
  p.port = 8443;
  p.protocol = "https";
  p.path = "/sync/inbox";
  p.alternateServers = {"198.51.100.7:8443", "[2001:db8::1]:8443", "[::1]"};
  p.function = "inbox";
  p.timeSlot = "2026-11-21T10:00:00Z/PT5M";
  p.waitMs = 30000;
  BOOST_TEST(rejected(p) == "");
  BOOST_TEST(serverLine(p) == "crm.example.com:8443");
}

BOOST_AUTO_TEST_CASE(each_bad_field_is_named) {
  auto with = [](auto change) {
    ContactMeParams p = ok();
    change(p);
    return rejected(p);
  };
  BOOST_TEST(with([](auto& p) { p.deviceId = ""; }) == "deviceId");
  BOOST_TEST(with([](auto& p) { p.deviceId = "sip:nohost"; }) == "deviceId");
  BOOST_TEST(with([](auto& p) { p.requestId = ""; }) == "requestId");
  BOOST_TEST(with([](auto& p) { p.requestId = "has space"; }) == "requestId");
  BOOST_TEST(with([](auto& p) { p.requestId = std::string(129, 'a'); }) == "requestId");
  BOOST_TEST(with([](auto& p) { p.requestId = std::string(128, 'a'); }) == "");
  BOOST_TEST(with([](auto& p) { p.server = "bad host"; }) == "server");
  BOOST_TEST(with([](auto& p) { p.server = "host:0"; }) == "server");
  BOOST_TEST(with([](auto& p) { p.server = "host:70000"; }) == "server");
  BOOST_TEST(with([](auto& p) { p.server = "[::1"; }) == "server");
  BOOST_TEST(with([](auto& p) {
               p.server = "host:1";
               p.port = 2;
             }) == "port");
  BOOST_TEST(with([](auto& p) { p.port = 2; }) == "port");
  BOOST_TEST(with([](auto& p) { p.protocol = "ht tp"; }) == "protocol");
  BOOST_TEST(with([](auto& p) { p.path = "relative"; }) == "path");
  BOOST_TEST(with([](auto& p) { p.path = "/a\r\nstate: idle"; }) == "path");
  BOOST_TEST(with([](auto& p) { p.alternateServers = std::vector<std::string>(9, "h:1"); }) ==
             "alternateServer");
  BOOST_TEST(with([](auto& p) { p.alternateServers = {"h:x"}; }) == "alternateServer");
  BOOST_TEST(with([](auto& p) { p.function = "a b"; }) == "function");
  BOOST_TEST(with([](auto& p) { p.timeSlot = "tomorrow"; }) == "timeSlot");
  BOOST_TEST(with([](auto& p) { p.package = "unknown-package"; }) == "package");
  BOOST_TEST(with([](auto& p) { p.waitMs = 30001; }) == "waitMs");
  BOOST_TEST(with([](auto& p) { p.queueSeconds = kMaxQueueSeconds + 1; }) == "queueSeconds");
}

BOOST_AUTO_TEST_SUITE_END()
