// Bytes that are not UTF-8 in SOAP requests and answers (soap/xml_text.h):
// the checker and xmlSafe() alone, then every string field of every
// operation through a real SoapServer over raw HTTP (plain and chunked):
// a Client fault that names the field, nothing taken by the core, and the
// server still serving. Answers that carry a device's bytes stay XML.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "fixture.h"
#include "soap_server.h"
#include "utf8.h"
#include "xml_text.h"

namespace {

using namespace soaptest;
using beckon::soap::checkXmlText;
using beckon::soap::xmlSafe;

bool passes(const std::string& document) {
  return !checkXmlText(document).has_value();
}

// A document whose <cm:deviceId> holds `value`.
std::string withDeviceId(const std::string& value) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><s:Envelope "
         "xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
         "xmlns:cm=\"urn:beckon:contact-me:1\"><s:Body><cm:GetDevice><cm:deviceId>" +
         value + "</cm:deviceId></cm:GetDevice></s:Body></s:Envelope>";
}

// What a hostile peer writes where text goes, and a part of the message
// that says what is wrong with it.
struct Hostile {
  const char* name;
  std::string text;
  const char* says;
};

const std::vector<Hostile>& hostileValues() {
  static const std::vector<Hostile> values = {
      {"bad continuation", "\xc3\x28", "is not valid UTF-8: byte 0xc3"},
      {"lone 0xff", "\xff", "is not valid UTF-8: byte 0xff"},
      {"lone continuation", "\x80", "is not valid UTF-8: byte 0x80"},
      {"raw surrogate", "\xed\xa0\x80", "is not valid UTF-8: byte 0xed"},
      {"overlong '/'", "\xc0\xaf", "is not valid UTF-8: byte 0xc0"},
      {"overlong NUL", "\xe0\x80\x80", "is not valid UTF-8: byte 0xe0"},
      {"truncated", "\xe2\x82", "is not valid UTF-8: byte 0xe2"},
      {"beyond U+10FFFF", "\xf4\x90\x80\x80", "is not valid UTF-8: byte 0xf4"},
      {"raw U+FFFE", "\xef\xbf\xbe", "U+FFFE, which XML 1.0 does not allow"},
      {"raw control", "\x01", "U+0001, which XML 1.0 does not allow"},
      {"reference to a surrogate", "&#xD800;", "&#xD800; names U+D800"},
      {"decimal surrogate", "&#56320;", "&#56320; names U+DC00"},
      {"reference to NUL", "&#0;", "&#0; names U+0000"},
      {"reference to U+FFFE", "&#xFFFE;", "&#xFFFE; names U+FFFE"},
      {"reference to a control", "&#x1b;", "&#x1b; names U+001B"},
      {"beyond U+10FFFF by reference", "&#x110000;", "names no character"},
      {"huge reference", "&#99999999999;", "names no character"},
      {"reference gSOAP misreads", "&#x01F600;", "longer than gSOAP reads"},
      {"empty reference", "&#x;", "has no digits"},
      {"not a digit", "&#12a;", "is not a decimal digit"},
      {"unknown entity", "&nbsp;", "is not a reference XML defines"},
      {"bare ampersand", "a&b", "'&' starts no reference"},
  };
  return values;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(xml_text_check)

BOOST_AUTO_TEST_CASE(valid_text_passes) {
  for (const std::string value :
       {"7546658000", "caf\xc3\xa9", "\xf0\x9f\x98\x80", "&#xe9;&#233;&#x1F600;&#128512;",
        "&amp;&lt;&gt;&quot;&apos;", "tab\there", "\xef\xbf\xbd", "&#x10FFF;", "&#x9;&#xA;&#xD;",
        "<![CDATA[caf\xc3\xa9 & <x>]]>", "<!-- caf\xc3\xa9 -->"}) {
    BOOST_TEST(passes(withDeviceId(value)), value);
  }
  // A byte order mark, and attributes with references.
  BOOST_TEST(passes("\xef\xbb\xbf<a x=\"&#xe9;\" y='caf\xc3\xa9'>t</a>"));
}

BOOST_AUTO_TEST_CASE(every_hostile_value_is_found_in_its_field) {
  for (const Hostile& h : hostileValues()) {
    BOOST_TEST_CONTEXT(h.name) {
      const auto problem = checkXmlText(withDeviceId("abc" + h.text + "def"));
      BOOST_REQUIRE(problem);
      BOOST_TEST(problem->element == "deviceId");
      BOOST_TEST(problem->message().rfind("deviceId: ", 0) == 0, problem->message());
      BOOST_TEST(problem->what.find(h.says) != std::string::npos, problem->what);
      // The message goes into a fault: it must be text itself.
      BOOST_TEST(beckon::validUtf8(problem->message()));
    }
  }
}

BOOST_AUTO_TEST_CASE(the_place_in_the_markup_is_named) {
  auto what = [](const std::string& doc) {
    const auto p = checkXmlText(doc);
    return p ? p->message() : std::string("none");
  };
  BOOST_TEST(what("<a><b x=\"\xff\">t</b></a>").rfind("b: is not valid UTF-8", 0) == 0);
  BOOST_TEST(what("<a><b x=\"\xff\">t</b></a>").find("(in attribute x)") != std::string::npos);
  BOOST_TEST(what("<a><b><!-- \xff --></b></a>").find("b: ") == 0);
  BOOST_TEST(what("<a><b><!-- \xff --></b></a>").find("(in a comment)") != std::string::npos);
  BOOST_TEST(what("<a><b><![CDATA[\xc3\x28]]></b></a>").rfind("b: is not valid", 0) == 0);
  BOOST_TEST(what("<a><b\xff>t</b\xff></a>").rfind("a: ", 0) == 0);
  BOOST_TEST(what("<?xml version=\"1.0\"?><!-- \xff --><a/>").rfind("request: ", 0) == 0);
  // The offset of the byte in the document.
  BOOST_TEST(what("<a>\xff</a>").find("byte 0xff at offset 3 of the request") != std::string::npos);
  // Where the next element starts, the previous one's name no longer applies.
  BOOST_TEST(what("<a><b>ok</b>\xff</a>").rfind("a: ", 0) == 0);
}

BOOST_AUTO_TEST_CASE(latin1_documents_are_bytes_as_characters) {
  // gSOAP honours encoding="ISO-8859-1": every byte is a character there.
  BOOST_TEST(passes("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>caf\xe9</a>"));
  BOOST_TEST(!passes("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>&#0;</a>"));
  BOOST_TEST(!passes("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\x01</a>"));
  BOOST_TEST(!passes("<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>caf\xe9</a>"));
}

BOOST_AUTO_TEST_CASE(what_follows_the_root_element_is_not_read) {
  // gSOAP stops there too (a keep-alive connection's next request may follow).
  BOOST_TEST(passes("<a>ok</a>\xff"));
  BOOST_TEST(passes("<a/>\xff"));
  BOOST_TEST(!passes("<a>\xff</a>"));
}

BOOST_AUTO_TEST_CASE(xml_safe_escapes_only_what_xml_cannot_carry) {
  BOOST_TEST(xmlSafe("sip:7546658000@example.com;x=caf\xc3\xa9") ==
             "sip:7546658000@example.com;x=caf\xc3\xa9");
  BOOST_TEST(xmlSafe("100% sure") == "100% sure");
  BOOST_TEST(xmlSafe("a\xc3\x28") == "a%C3(");
  BOOST_TEST(xmlSafe("\xff\xfe") == "%FF%FE");
  BOOST_TEST(xmlSafe("\xed\xa0\x80") == "%ED%A0%80");
  BOOST_TEST(xmlSafe("\xef\xbf\xbe") == "%EF%BF%BE");
  BOOST_TEST(xmlSafe(std::string("a\0b\x01", 4)) == "a%00b%01");
  BOOST_TEST(xmlSafe("tab\tcr\rlf\n") == "tab\tcr\rlf\n");
  for (const Hostile& h : hostileValues()) {
    const std::string safe = xmlSafe(h.text);
    BOOST_TEST(beckon::validUtf8(safe), h.name);
    BOOST_TEST(passes("<a><![CDATA[" + safe + "]]></a>"), h.name);
  }
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

// Answers every NOTIFY with 486 and a reason phrase that is not UTF-8.
class HostileReasonSender final : public beckon::NotifySender {
 public:
  void send(const beckon::Binding&, const beckon::OutgoingNotify&,
            std::function<void(const beckon::NotifyOutcome&)> done) override {
    done({486, "Busy \xff\xc3\x28 \x01here"});
  }
};

struct Server {
  beckon::SystemClock clock;
  ThreadExecutor executor;
  HostileReasonSender sender;
  beckon::Core core{clock, sender};
  beckon::ContactService service{core, executor};
  beckon::soap::SoapServer server{config(), service};

  static beckon::soap::SoapConfig config() {
    beckon::soap::SoapConfig c;
    c.host = "127.0.0.1";
    c.port = 0;
    c.workers = 2;
    return c;
  }
  Server() {
    executor.call([this] {
      beckon::Binding b;
      b.aor = "sip:7546658000@example.com";
      // What the device registered: bytes that are not UTF-8 in a Contact
      // parameter and in its instance id.
      b.contact = "sip:7546658000@127.0.0.2:5999;ua=\xff\xc3\x28;ctl=\x01";
      b.instance = "urn:uuid:\xed\xa0\x80";
      b.transport = beckon::Transport::Udp;
      b.sourceHost = "127.0.0.2";
      b.sourcePort = 5999;
      b.expires = clock.now() + std::chrono::hours(1);
      b.packages.push_back({beckon::kDefaultPackage, beckon::BodyFormat::Text, true});
      core.upsertBinding(b);
    });
    server.start();
  }
  ~Server() { server.stop(); }

  std::size_t requests() {
    std::size_t n = 0;
    executor.call([&] { n = core.requestCount(); });
    return n;
  }
  std::string post(const std::string& body) {
    return httpExchange(server.port(),
                        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: "
                        "text/xml; charset=utf-8\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body);
  }
  // The same body in HTTP chunks of 5 bytes: the check sees it joined.
  std::string postChunked(const std::string& body) {
    std::string chunks;
    for (std::size_t i = 0; i < body.size(); i += 5) {
      const std::string part = body.substr(i, 5);
      char size[16];
      std::snprintf(size, sizeof size, "%zx\r\n", part.size());
      chunks += size + part + "\r\n";
    }
    return httpExchange(server.port(),
                        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: "
                        "text/xml\r\nTransfer-Encoding: chunked\r\n\r\n" +
                            chunks + "0\r\n\r\n");
  }
};

std::string envelope(const std::string& operation) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><s:Envelope "
         "xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
         "xmlns:cm=\"urn:beckon:contact-me:1\"><s:Body>" +
         operation + "</s:Body></s:Envelope>";
}

std::string element(const std::string& name, const std::string& value) {
  return "<cm:" + name + ">" + value + "</cm:" + name + ">";
}

// Every string field of every operation (wsdl/beckon.h), each request with
// `value` in that one field and valid text elsewhere.
struct FieldCase {
  std::string field;
  std::string body;
};

std::vector<FieldCase> everyField(const std::string& value) {
  struct Op {
    std::string name;
    std::vector<std::pair<std::string, std::string>> fields;  // name, valid value, in order
    std::vector<std::string> strings;                         // those that are text
  };
  const std::vector<Op> ops = {
      {"ContactMe",
       {{"deviceId", "7546658000"},
        {"requestId", "r-hostile"},
        {"server", "as.example.com"},
        {"protocol", "https"},
        {"path", "/wake"},
        {"alternateServer", "198.51.100.7:8443"},
        {"function", "chat"},
        {"timeSlot", "PT5M"},
        {"package", beckon::kDefaultPackage},
        {"queueSeconds", "0"},
        {"waitMs", "0"},
        {"onBehalfOf", "local"}},
       {"deviceId", "requestId", "server", "protocol", "path", "alternateServer", "function",
        "timeSlot", "package", "onBehalfOf", "queueSeconds", "waitMs"}},
      {"GetContactRequest",
       {{"requestId", "r-1"}, {"onBehalfOf", "local"}},
       {"requestId", "onBehalfOf"}},
      {"CancelContactRequest",
       {{"requestId", "r-1"}, {"onBehalfOf", "local"}},
       {"requestId", "onBehalfOf"}},
      {"GetDevice", {{"deviceId", "7546658000"}}, {"deviceId"}},
      {"DeviceRegistered",
       {{"deviceId", "7546658000"},
        {"aor", "sip:7546658000@example.com"},
        {"instance", "urn:uuid:f81d4fae-7dec-41d0-a765-00a0c91e6bf6"},
        {"package", beckon::kDefaultPackage},
        {"sipServer", "sip:beckon.example.com"},
        {"at", "2026-01-01T00:00:00Z"}},
       {"deviceId", "aor", "instance", "package", "sipServer"}},
  };
  std::vector<FieldCase> out;
  for (const Op& op : ops) {
    for (const std::string& hostile : op.strings) {
      std::string fields;
      for (const auto& [name, valid] : op.fields)
        fields += element(name, name == hostile ? "x" + value + "y" : valid);
      out.push_back({hostile, envelope(element(op.name, fields))});
    }
  }
  return out;
}

std::string faultMessageOf(const std::string& response) {
  const std::string open = "<cm:message>";
  const std::size_t begin = response.find(open);
  if (begin == std::string::npos) return {};
  const std::size_t end = response.find("</cm:message>", begin);
  return response.substr(begin + open.size(), end - begin - open.size());
}

void checkRefused(const std::string& response, const std::string& field, const Hostile& h) {
  BOOST_TEST(response.rfind("HTTP/1.1 500", 0) == 0, response.substr(0, 300));
  BOOST_TEST(response.find("Client</faultcode>") != std::string::npos, response);
  BOOST_TEST(response.find("<cm:code>InvalidArgument</cm:code>") != std::string::npos, response);
  const std::string message = faultMessageOf(response);
  BOOST_TEST(message.rfind(field + ": ", 0) == 0, message);
  // &...; in the message is escaped in the XML answer: compare without the
  // ampersand's own escape.
  std::string plain = message;
  for (std::size_t at; (at = plain.find("&amp;")) != std::string::npos;)
    plain.replace(at, 5, "&");
  BOOST_TEST(plain.find(h.says) != std::string::npos, message);
  BOOST_TEST(beckon::validUtf8(response));
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(hostile_soap_requests, Server)

BOOST_AUTO_TEST_CASE(every_string_field_of_every_operation_is_refused_by_name) {
  for (const Hostile& h : hostileValues()) {
    for (const FieldCase& c : everyField(h.text)) {
      BOOST_TEST_CONTEXT(h.name << " in " << c.field << ": " << c.body) {
        checkRefused(post(c.body), c.field, h);
      }
    }
  }
  // Not one request was taken.
  BOOST_TEST(requests() == 0u);
}

BOOST_AUTO_TEST_CASE(chunked_requests_are_checked_as_joined) {
  for (const Hostile& h : hostileValues()) {
    const FieldCase c = everyField(h.text).front();  // ContactMe's deviceId
    BOOST_TEST_CONTEXT(h.name) {
      checkRefused(postChunked(c.body), c.field, h);
    }
  }
  BOOST_TEST(requests() == 0u);
}

BOOST_AUTO_TEST_CASE(valid_text_still_reaches_the_core) {
  // Non-ASCII text and character references gSOAP reads whole pass; the
  // device is notified (and refuses: HostileReasonSender).
  const std::string body = envelope(
      element("ContactMe", element("deviceId", "7546658000") + element("requestId", "r-valid") +
                               element("server", "as.example.com") +
                               element("path", "/caf&#xe9;/caf\xc3\xa9/&#x1F600;") +
                               element("function", "chat") + element("waitMs", "2000")));
  for (const auto& response : {post(body), postChunked(body)}) {
    BOOST_TEST(response.rfind("HTTP/1.1 200", 0) == 0, response);
    BOOST_TEST(response.find("<cm:requestId>r-valid</cm:requestId>") != std::string::npos,
               response);
  }
  BOOST_TEST(requests() == 1u);
}

BOOST_AUTO_TEST_CASE(answers_with_a_devices_bytes_stay_xml) {
  // GetDevice: the Contact and the instance id as registered, xmlSafe().
  const std::string device =
      post(envelope(element("GetDevice", element("deviceId", "7546658000"))));
  BOOST_TEST(device.rfind("HTTP/1.1 200", 0) == 0, device);
  BOOST_TEST(beckon::validUtf8(device));
  BOOST_TEST(passes(device.substr(device.find("\r\n\r\n") + 4)), device);
  BOOST_TEST(device.find("<cm:contact>sip:7546658000@127.0.0.2:5999;ua=%FF%C3(;ctl=%01"
                         "</cm:contact>") != std::string::npos,
             device);
  BOOST_TEST(device.find("<cm:instance>urn:uuid:%ED%A0%80</cm:instance>") != std::string::npos,
             device);

  // GetContactRequest: the device's reason phrase, xmlSafe().
  const std::string contact = post(envelope(
      element("ContactMe", element("deviceId", "7546658000") + element("requestId", "r-reason") +
                               element("server", "as.example.com"))));
  BOOST_TEST(contact.rfind("HTTP/1.1 200", 0) == 0, contact);
  const std::string status =
      post(envelope(element("GetContactRequest", element("requestId", "r-reason"))));
  BOOST_TEST(status.rfind("HTTP/1.1 200", 0) == 0, status);
  BOOST_TEST(beckon::validUtf8(status));
  BOOST_TEST(passes(status.substr(status.find("\r\n\r\n") + 4)), status);
  BOOST_TEST(status.find("<cm:reason>Busy %FF%C3( %01here</cm:reason>") != std::string::npos,
             status);
  BOOST_TEST(status.find("<cm:sipStatus>486</cm:sipStatus>") != std::string::npos, status);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(a_connection_never_gets_what_an_earlier_one_left_unread) {
  // One worker: every connection is served by the same gSOAP context.
  beckon::SystemClock clock;
  ThreadExecutor executor;
  AnsweringSender sender{executor};
  beckon::Core core{clock, sender};
  beckon::ContactService service{core, executor};
  beckon::soap::SoapConfig c;
  c.host = "127.0.0.1";
  c.port = 0;
  c.workers = 1;
  beckon::soap::SoapServer server(c, service);
  server.start();
  // gSOAP refuses this request line before it reads the body, and closes.
  // The client has sent all and said so (FIN): gSOAP has read it all.
  const std::string body = "<?xml version=\"1.0\"?><leftover/>";
  const std::string request =
      "POST\"/ HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
      body;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  BOOST_REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  BOOST_REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(request.size()));
  ::shutdown(fd, SHUT_WR);
  char buf[4096];
  while (::recv(fd, buf, sizeof buf, 0) > 0) {
  }
  ::close(fd);
  const std::string wsdl = httpExchange(
      server.port(), "GET /contact-me.wsdl HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  BOOST_TEST(wsdl.rfind("HTTP/1.1 200", 0) == 0, wsdl.substr(0, 600));
  BOOST_TEST(wsdl.find("leftover") == std::string::npos, wsdl.substr(0, 600));
  server.stop();
}
