// The JSON a push gateway gets (docs/push.md; push/push_gateway.cpp).
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "push_gateway.h"

using namespace beckon;
using nlohmann::json;

namespace {

PushRequest base(PushReason reason) {
  PushRequest r;
  r.id = "0123456789abcdef-7";
  r.target = {"apns", "d3adb33f", "com.example.app.voip"};
  r.reason = reason;
  r.aor = "sip:7546658000@example.com";
  r.instance = "urn:uuid:00000000-0000-4000-8000-000000000001";
  r.bindingId = 4;
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(push_body)

BOOST_AUTO_TEST_CASE(a_contact_me_push_names_the_request) {
  PushRequest r = base(PushReason::ContactMe);
  r.requestId = "req-1";
  r.appServer = "crm";
  const json j = json::parse(push::pushBody(r));
  BOOST_TEST(j.size() == 9u);
  BOOST_TEST(j.at("id") == "0123456789abcdef-7");
  BOOST_TEST(j.at("provider") == "apns");
  BOOST_TEST(j.at("prid") == "d3adb33f");
  BOOST_TEST(j.at("param") == "com.example.app.voip");
  BOOST_TEST(j.at("reason") == "contact-me");
  BOOST_TEST(j.at("aor") == "sip:7546658000@example.com");
  BOOST_TEST(j.at("instance") == "urn:uuid:00000000-0000-4000-8000-000000000001");
  BOOST_TEST(j.at("requestId") == "req-1");
  BOOST_TEST(j.at("appServer") == "crm");
}

BOOST_AUTO_TEST_CASE(a_call_push_names_the_call_and_survives_bytes_that_are_not_utf8) {
  PushRequest r = base(PushReason::Call);
  r.method = "INVITE";
  r.callId = "abc@10.0.0.1";
  r.from = "sip:al\xc3\x28ice@example.com";
  const json j = json::parse(push::pushBody(r));
  BOOST_TEST(j.size() == 10u);
  BOOST_TEST(j.at("reason") == "call");
  BOOST_TEST(j.at("method") == "INVITE");
  BOOST_TEST(j.at("callId") == "abc@10.0.0.1");
  BOOST_TEST(j.at("from") == "sip:al\xef\xbf\xbd(ice@example.com");  // U+FFFD
  BOOST_TEST(!j.contains("requestId"));
}

BOOST_AUTO_TEST_CASE(a_refresh_push_is_the_binding_alone) {
  const json j = json::parse(push::pushBody(base(PushReason::Refresh)));
  BOOST_TEST(j.size() == 7u);
  BOOST_TEST(j.at("reason") == "refresh");
}

BOOST_AUTO_TEST_SUITE_END()
