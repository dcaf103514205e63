#include <boost/test/unit_test.hpp>

#include "body.h"

using namespace beckon;

namespace {

NotifyContent full() {
  NotifyContent c;
  c.state = "pending";
  c.requestId = "8e1f-0042";
  c.server = "crm.example.com:8443";
  c.protocol = "https";
  c.path = "/sync/inbox?x=1&y=<2>";
  c.altServers = {"198.51.100.7:8443", "[2001:db8::7]:8443"};
  c.function = "inbox";
  c.timeSlot = "2026-11-21T10:00:00Z/PT5M";
  return c;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(body)

BOOST_AUTO_TEST_CASE(text_body_lines_in_contract_order_values_unmodified) {
  BOOST_TEST(encodeText(full()) ==
             "state: pending\r\n"
             "request-id: 8e1f-0042\r\n"
             "server: crm.example.com:8443\r\n"
             "protocol: https\r\n"
             "path: /sync/inbox?x=1&y=<2>\r\n"
             "alt-server: 198.51.100.7:8443\r\n"
             "alt-server: [2001:db8::7]:8443\r\n"
             "function: inbox\r\n"
             "time-slot: 2026-11-21T10:00:00Z/PT5M\r\n");
}

BOOST_AUTO_TEST_CASE(only_given_values_have_a_line) {
  NotifyContent c;
  c.state = "pending";
  c.requestId = "r1";
  BOOST_TEST(encodeText(c) == "state: pending\r\nrequest-id: r1\r\n");
}

BOOST_AUTO_TEST_CASE(utf8_passes_through) {
  NotifyContent c;
  c.state = "pending";
  c.path = "/bo\xC3\xAEte/\xE2\x82\xAC";  // "/boîte/€"
  BOOST_TEST(encodeText(c) == "state: pending\r\npath: /bo\xC3\xAEte/\xE2\x82\xAC\r\n");
}

BOOST_AUTO_TEST_CASE(cr_or_lf_in_a_value_is_refused_naming_the_field) {
  for (const char* bad : {"/a\r\nstate: idle", "/a\n", "/a\rb"}) {
    NotifyContent c = full();
    c.path = bad;
    try {
      encodeText(c);
      BOOST_FAIL("accepted a value with CR or LF");
    } catch (const InvalidField& e) {
      BOOST_TEST(e.field() == "path");
    }
  }
  NotifyContent c = full();
  c.altServers.push_back("x\n");
  BOOST_CHECK_THROW(encodeText(c), InvalidField);
}

BOOST_AUTO_TEST_CASE(other_bad_values_are_refused) {
  BOOST_CHECK_THROW(checkBodyValue("function", std::string("a\0b", 3)), InvalidField);
  BOOST_CHECK_THROW(checkBodyValue("function", "tab\there"), InvalidField);
  BOOST_CHECK_THROW(checkBodyValue("function", "\x7f"), InvalidField);
  BOOST_CHECK_THROW(checkBodyValue("function", "\xC3"), InvalidField);          // truncated UTF-8
  BOOST_CHECK_THROW(checkBodyValue("function", "\xC0\xAF"), InvalidField);      // overlong
  BOOST_CHECK_THROW(checkBodyValue("function", "\xED\xA0\x80"), InvalidField);  // surrogate
  BOOST_CHECK_THROW(checkBodyValue("function", ""), InvalidField);
  BOOST_CHECK_NO_THROW(checkBodyValue("function", "a b ~!"));
}

BOOST_AUTO_TEST_CASE(xml_body_same_names_same_values) {
  NotifyContent c;
  c.state = "pending";
  c.requestId = "r1";
  c.path = "/a?b=1&c=<2>";
  BOOST_TEST(encodeXml(c) ==
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
             "<contact-me xmlns=\"urn:beckon:contact-me:1\">\r\n"
             "  <state>pending</state>\r\n"
             "  <request-id>r1</request-id>\r\n"
             "  <path>/a?b=1&amp;c=&lt;2&gt;</path>\r\n"
             "</contact-me>\r\n");
}

BOOST_AUTO_TEST_CASE(content_type_follows_format) {
  BOOST_TEST(contentType("application-server-contact-me", BodyFormat::Text) ==
             "application/application-server-contact-me");
  BOOST_TEST(contentType("application-server-contact-me", BodyFormat::Xml) ==
             "application/application-server-contact-me+xml");
}

BOOST_AUTO_TEST_SUITE_END()
