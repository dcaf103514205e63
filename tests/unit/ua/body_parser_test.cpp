#include <boost/test/unit_test.hpp>

#include "body_parser.h"

using namespace beckon;
using namespace beckon::ua;

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

void same(const NotifyContent& a, const NotifyContent& b) {
  BOOST_TEST(a.state == b.state);
  BOOST_TEST(a.requestId == b.requestId);
  BOOST_TEST(a.server == b.server);
  BOOST_TEST(a.protocol == b.protocol);
  BOOST_TEST(a.path == b.path);
  BOOST_TEST(a.altServers == b.altServers);
  BOOST_TEST(a.function == b.function);
  BOOST_TEST(a.timeSlot == b.timeSlot);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(body_parser)

BOOST_AUTO_TEST_CASE(what_beckond_writes_reads_back_the_same) {
  same(parseTextBody(encodeText(full())), full());
  same(parseXmlBody(encodeXml(full())), full());
  NotifyContent idle;
  idle.state = "idle";
  same(parseTextBody(encodeText(idle)), idle);
  same(parseXmlBody(encodeXml(idle)), idle);
}

BOOST_AUTO_TEST_CASE(text_takes_bare_lf_and_ignores_unknown_labels) {
  const auto c =
      parseTextBody("state: pending\nrequest-id: r1\nx-later: whatever\nserver: a.example:80\n");
  BOOST_TEST(c.state == "pending");
  BOOST_TEST(c.requestId == "r1");
  BOOST_TEST(c.server == "a.example:80");
}

BOOST_AUTO_TEST_CASE(text_refuses_what_could_steer_the_device_wrongly) {
  BOOST_CHECK_THROW(parseTextBody("state pending\r\n"), BodyError);
  BOOST_CHECK_THROW(parseTextBody("state: pending\r\nserver: a:1\r\nserver: b:2\r\n"), BodyError);
  BOOST_CHECK_THROW(parseTextBody("state: pending\r\nserver: a\x01:1\r\n"), BodyError);
  BOOST_CHECK_THROW(parseTextBody("state: pending\r\nserver: \r\n"), BodyError);
  BOOST_CHECK_THROW(parseTextBody("sta te: pending\r\n"), BodyError);
  std::string nine = "state: pending\r\n";
  for (int i = 0; i < 9; ++i)
    nine += "alt-server: h" + std::to_string(i) + ":80\r\n";
  BOOST_CHECK_THROW(parseTextBody(nine), BodyError);
}

BOOST_AUTO_TEST_CASE(xml_of_any_shape_the_package_allows) {
  const auto c = parseXmlBody(
      "<?xml version='1.0'?><!-- hi --><cm:contact-me xmlns:cm='urn:beckon:contact-me:1'"
      " xmlns:o='urn:other'>\n\t<cm:state>pending</cm:state><cm:request-id>r&#x31;</cm:request-id>"
      "<o:server>evil:1</o:server><cm:later><cm:server>nested:1</cm:server></cm:later>"
      "<cm:server>crm.example.com:8443</cm:server>"
      "<cm:path><![CDATA[/a?b=1&c=<2>]]></cm:path></cm:contact-me>");
  BOOST_TEST(c.state == "pending");
  BOOST_TEST(c.requestId == "r1");
  BOOST_TEST(c.server == "crm.example.com:8443");  // other namespaces and deeper elements ignored
  BOOST_TEST(c.path == "/a?b=1&c=<2>");
}

BOOST_AUTO_TEST_CASE(xml_refusals) {
  BOOST_CHECK_THROW(parseXmlBody("<contact-me><state>pending</state></contact-me>"), BodyError);
  BOOST_CHECK_THROW(parseXmlBody("<contact-me xmlns=\"urn:beckon:contact-me:1\"><state>pending"),
                    BodyError);
  BOOST_CHECK_THROW(
      parseXmlBody("<!DOCTYPE c [<!ENTITY a \"b\">]><contact-me xmlns=\"urn:beckon:contact-me:1\">"
                   "<state>&a;</state></contact-me>"),
      BodyError);
  BOOST_CHECK_THROW(parseXmlBody("<contact-me xmlns=\"urn:beckon:contact-me:1\"><server>a:1"
                                 "</server><server>b:1</server></contact-me>"),
                    BodyError);
  BOOST_CHECK_THROW(parseXmlBody("<contact-me xmlns=\"urn:beckon:contact-me:1\"><server>a\n:1"
                                 "</server></contact-me>"),
                    BodyError);
}

BOOST_AUTO_TEST_CASE(content_types) {
  const std::string p = "application-server-contact-me";
  BOOST_TEST((bodyFormatOf("application/application-server-contact-me", p) == BodyFormat::Text));
  BOOST_TEST((bodyFormatOf("Application/Application-Server-Contact-Me ; charset=UTF-8", p) ==
              BodyFormat::Text));
  BOOST_TEST((bodyFormatOf("application/application-server-contact-me+xml", p) == BodyFormat::Xml));
  BOOST_TEST(!bodyFormatOf("text/plain", p).has_value());
  BOOST_TEST(!bodyFormatOf("application/other+xml", p).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
