#define BOOST_TEST_MODULE soap
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstring>
#include <string>

#include "fixture.h"
#include "soapContactMeProxy.h"
#include "soap_server.h"

namespace {

using namespace soaptest;

struct Fixture {
  beckon::SystemClock clock;
  ThreadExecutor executor;
  AnsweringSender sender{executor};
  beckon::Core core{clock, sender};
  beckon::ContactService service{core, executor};
  beckon::soap::SoapServer server{makeConfig(), service};
  std::string url;

  static beckon::soap::SoapConfig makeConfig() {
    beckon::soap::SoapConfig c;
    c.host = "127.0.0.1";
    c.port = 0;
    c.workers = 2;
    c.maxBodyBytes = 4096;
    return c;
  }

  Fixture() {
    executor.call([this] {
      beckon::Binding b;
      b.aor = "sip:7546658000@example.com";
      b.contact = "sip:7546658000@127.0.0.2:5999";
      b.transport = beckon::Transport::Udp;
      b.sourceHost = "127.0.0.2";
      b.sourcePort = 5999;
      b.expires = clock.now() + std::chrono::hours(1);
      b.packages.push_back({beckon::kDefaultPackage, beckon::BodyFormat::Text, true});
      core.upsertBinding(b);
    });
    server.start();
    url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
  }
  ~Fixture() { server.stop(); }
};

std::string post(std::uint16_t port, const std::string& body, const std::string& contentType) {
  return httpExchange(
      port,
      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: " + contentType +
          "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
}

int callContactMe(const std::string& url, const std::string& device, const std::string& requestId,
                  ContactMeProxy& proxy, cm__ContactStatus& status) {
  _cm__ContactMe request;
  request.deviceId = device;
  request.requestId = requestId;
  std::string server = "as.example.com:8443";
  request.server = &server;
  return proxy.ContactMe(url.c_str(), nullptr, &request, status);
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(contact_me_round_trip_is_delivered, Fixture) {
  for (bool async : {false, true}) {
    executor.call([&] { sender.async = async; });
    ContactMeProxy proxy(SOAP_IO_KEEPALIVE | SOAP_C_UTFSTRING);
    cm__ContactStatus status;
    const std::string id = async ? "r-async" : "r-sync";
    BOOST_REQUIRE_EQUAL(callContactMe(url, "7546658000", id, proxy, status), SOAP_OK);
    BOOST_TEST(status.requestId == id);
    BOOST_TEST((status.state == cm__RequestState::delivered));
    BOOST_REQUIRE_EQUAL(status.delivery.size(), 1u);
    BOOST_TEST(status.delivery[0].contact == "sip:7546658000@127.0.0.2:5999");
    BOOST_TEST(status.delivery[0].transport == "udp");
    BOOST_TEST(status.delivery[0].sipStatus == 200);
    BOOST_TEST(status.delivery[0].at > 0);
    proxy.destroy();
  }
}

BOOST_FIXTURE_TEST_CASE(unknown_device_is_a_fault_with_detail, Fixture) {
  ContactMeProxy proxy(SOAP_IO_KEEPALIVE | SOAP_C_UTFSTRING);
  cm__ContactStatus status;
  const int rc = callContactMe(url, "sip:nobody@example.com", "r-1", proxy, status);
  BOOST_TEST(rc == SOAP_CLI_FAULT);  // a sender fault (stack.md pitfall 4)
  BOOST_REQUIRE(proxy.soap->fault);
  SOAP_ENV__Detail* detail = proxy.soap->fault->detail;
  BOOST_REQUIRE(detail);
  BOOST_REQUIRE(detail->cm__fault);
  BOOST_TEST((detail->cm__fault->code == cm__FaultCode::UnknownDevice));
  BOOST_TEST(!detail->cm__fault->message.empty());
  BOOST_TEST(std::string(*soap_faultstring(proxy.soap)) == detail->cm__fault->message);
  proxy.destroy();
}

BOOST_FIXTURE_TEST_CASE(what_gsoap_rejects_is_an_invalid_argument_fault, Fixture) {
  // No deviceId: the strict deserializer refuses it.
  const std::string response = post(
      server.port(),
      "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">"
      "<s:Body><ContactMe xmlns=\"urn:beckon:contact-me:1\"><requestId>r</requestId>"
      "</ContactMe></s:Body></s:Envelope>",
      "text/xml; charset=utf-8");
  BOOST_TEST(response.rfind("HTTP/1.1 500", 0) == 0, response);
  BOOST_TEST(response.find("Client</faultcode>") != std::string::npos, response);
  BOOST_TEST(response.find("<cm:code>InvalidArgument</cm:code>") != std::string::npos, response);
  BOOST_TEST(response.find("<cm:message>deviceId: required</cm:message>") != std::string::npos,
             response);
}

namespace {

// The <cm:message> of a fault answer, "" when there is none.
std::string faultMessage(const std::string& response) {
  const std::string open = "<cm:message>";
  const std::size_t begin = response.find(open);
  if (begin == std::string::npos) return {};
  const std::size_t end = response.find("</cm:message>", begin);
  return response.substr(begin + open.size(), end - begin - open.size());
}

std::string soap11(const std::string& body) {
  return "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\""
         " xmlns:cm=\"urn:beckon:contact-me:1\"><s:Body>" +
         body + "</s:Body></s:Envelope>";
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(what_gsoap_rejects_names_the_field, Fixture) {
  const std::string ids = "<cm:deviceId>7546658000</cm:deviceId><cm:requestId>r-bad</cm:requestId>";
  std::string alternates;
  for (int i = 1; i <= 9; ++i)
    alternates +=
        "<cm:alternateServer>198.51.100." + std::to_string(i) + ":8443</cm:alternateServer>";
  struct Case {
    const char* field;
    std::string request;
  };
  const Case cases[] = {
      // values the schema types refuse
      {"port", "<cm:ContactMe>" + ids +
                   "<cm:server>as.example.com</cm:server><cm:port>70000</cm:port></cm:ContactMe>"},
      {"queueSeconds",
       "<cm:ContactMe>" + ids + "<cm:queueSeconds>-1</cm:queueSeconds></cm:ContactMe>"},
      {"waitMs", "<cm:ContactMe>" + ids + "<cm:waitMs>soon</cm:waitMs></cm:ContactMe>"},
      {"port", "<cm:ContactMe>" + ids + "<cm:port></cm:port></cm:ContactMe>"},
      // occurrence constraints, checked at the request's end tag
      {"alternateServer", "<cm:ContactMe>" + ids + "<cm:server>as.example.com</cm:server>" +
                              alternates + "</cm:ContactMe>"},
      {"deviceId", "<cm:ContactMe><cm:requestId>r-bad</cm:requestId></cm:ContactMe>"},
      {"requestId", "<cm:ContactMe><cm:deviceId>7546658000</cm:deviceId></cm:ContactMe>"},
      {"requestId", "<cm:GetContactRequest></cm:GetContactRequest>"},
      {"requestId", "<cm:CancelContactRequest/>"},
      {"deviceId", "<cm:GetDevice/>"},
      // strictness stays: unknown and repeated elements are refused, named
      {"colour", "<cm:ContactMe>" + ids + "<cm:colour>blue</cm:colour></cm:ContactMe>"},
      {"deviceId", "<cm:ContactMe>" + ids + "<cm:deviceId>2000</cm:deviceId></cm:ContactMe>"},
  };
  for (const Case& c : cases) {
    const std::string response = post(server.port(), soap11(c.request), "text/xml; charset=utf-8");
    BOOST_TEST_CONTEXT(c.request) {
      BOOST_TEST(response.rfind("HTTP/1.1 500", 0) == 0, response);
      BOOST_TEST(response.find("<cm:code>InvalidArgument</cm:code>") != std::string::npos,
                 response);
      const std::string message = faultMessage(response);
      BOOST_TEST(message.rfind(std::string(c.field) + ": ", 0) == 0, message);
      BOOST_TEST(message.size() > std::strlen(c.field) + 2);
      // the faultstring says the same
      BOOST_TEST(response.find("<faultstring>" + message + "</faultstring>") != std::string::npos,
                 response);
    }
  }
  const std::string tooMany =
      faultMessage(post(server.port(), soap11(cases[4].request), "text/xml; charset=utf-8"));
  BOOST_TEST(tooMany.rfind("alternateServer: at most 8 are allowed", 0) == 0, tooMany);
  const std::string unknown =
      faultMessage(post(server.port(), soap11(cases[10].request), "text/xml; charset=utf-8"));
  BOOST_TEST(unknown.find("'cm:colour'") != std::string::npos, unknown);
  const std::string invalid =
      faultMessage(post(server.port(), soap11(cases[0].request), "text/xml; charset=utf-8"));
  BOOST_TEST(invalid.rfind("port: invalid value", 0) == 0, invalid);

  // SOAP 1.2 alike; an unknown operation is not about a field.
  const std::string response12 =
      post(server.port(),
           "<?xml version=\"1.0\"?><e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\">"
           "<e:Body><ContactMe xmlns=\"urn:beckon:contact-me:1\"><deviceId>7546658000</deviceId>"
           "<requestId>r12</requestId><waitMs>soon</waitMs></ContactMe></e:Body></e:Envelope>",
           "application/soap+xml; charset=utf-8");
  BOOST_TEST(faultMessage(response12).rfind("waitMs: ", 0) == 0, response12);
  const std::string noSuch =
      post(server.port(), soap11("<cm:Frobnicate/>"), "text/xml; charset=utf-8");
  BOOST_TEST(noSuch.find("<cm:code>InvalidArgument</cm:code>") != std::string::npos, noSuch);
  BOOST_TEST(faultMessage(noSuch).find("cm:Frobnicate") != std::string::npos, noSuch);
}

BOOST_FIXTURE_TEST_CASE(soap12_requests_get_soap12_answers, Fixture) {
  const std::string response =
      post(server.port(),
           "<?xml version=\"1.0\"?><e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\">"
           "<e:Body><ContactMe xmlns=\"urn:beckon:contact-me:1\"><deviceId>7546658000</deviceId>"
           "<requestId>r12</requestId></ContactMe></e:Body></e:Envelope>",
           "application/soap+xml; charset=utf-8");
  BOOST_TEST(response.rfind("HTTP/1.1 200", 0) == 0, response);
  BOOST_TEST(response.find("Content-Type: application/soap+xml") != std::string::npos, response);
  BOOST_TEST(response.find("http://www.w3.org/2003/05/soap-envelope") != std::string::npos);
  BOOST_TEST(response.find("<cm:state>delivered</cm:state>") != std::string::npos, response);

  // A SOAP 1.2 fault: Code/Value Sender and our detail.
  const std::string fault =
      post(server.port(),
           "<?xml version=\"1.0\"?><e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\">"
           "<e:Body><ContactMe xmlns=\"urn:beckon:contact-me:1\"><deviceId>nobody</deviceId>"
           "<requestId>r12f</requestId></ContactMe></e:Body></e:Envelope>",
           "application/soap+xml; charset=utf-8");
  BOOST_TEST(fault.find("<SOAP-ENV:Value>SOAP-ENV:Sender</SOAP-ENV:Value>") != std::string::npos,
             fault);
  BOOST_TEST(fault.find("<SOAP-ENV:Detail><cm:fault><cm:code>UnknownDevice</cm:code>") !=
                 std::string::npos,
             fault);
}

BOOST_FIXTURE_TEST_CASE(oversized_body_gets_413, Fixture) {
  // Only the header is sent: the answer must come before the body is read.
  const std::string response = httpExchange(server.port(),
                                            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                                            "text/xml\r\nContent-Length: 100000\r\n\r\n");
  BOOST_TEST(response.rfind("HTTP/1.1 413", 0) == 0, response);
}

BOOST_FIXTURE_TEST_CASE(wsdl_is_served_with_our_address, Fixture) {
  const std::string host = "127.0.0.1:" + std::to_string(server.port());
  for (const char* path : {"/contact-me.wsdl", "/?wsdl"}) {
    const std::string response =
        httpExchange(server.port(), std::string("GET ") + path + " HTTP/1.1\r\nHost: " + host +
                                        "\r\nConnection: close\r\n\r\n");
    BOOST_TEST(response.rfind("HTTP/1.1 200", 0) == 0, response.substr(0, 200));
    BOOST_TEST(response.find("xml") != std::string::npos);
    BOOST_TEST(response.find("<SOAP:address location=\"http://" + host + "/\"/>") !=
               std::string::npos);
    BOOST_TEST(response.find("<SOAP12:address location=\"http://" + host + "/\"/>") !=
               std::string::npos);
    BOOST_TEST(response.find("localhost:8080") == std::string::npos);
  }
  const std::string missing = httpExchange(
      server.port(), "GET /nothing HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n");
  BOOST_TEST(missing.rfind("HTTP/1.1 404", 0) == 0, missing.substr(0, 200));
}

BOOST_FIXTURE_TEST_CASE(added_get_paths_are_served, Fixture) {
  // addGet before start(): a second server on its own port.
  beckon::soap::SoapServer other(makeConfig(), service);
  other.addGet("/healthz", [] { return beckon::soap::HttpResponse{200, "text/plain", "ok\n"}; });
  other.addGet("/down", [] { return beckon::soap::HttpResponse{503, "text/plain", "down\n"}; });
  other.start();
  const std::string ok =
      httpExchange(other.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  BOOST_TEST(ok.rfind("HTTP/1.1 200", 0) == 0, ok);
  BOOST_TEST(ok.find("\r\n\r\nok\n") != std::string::npos, ok);
  const std::string down =
      httpExchange(other.port(), "GET /down HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  BOOST_TEST(down.rfind("HTTP/1.1 503", 0) == 0, down);
  other.stop();
}

BOOST_FIXTURE_TEST_CASE(stop_does_not_wait_for_idle_keep_alive_connections, Fixture) {
  ContactMeProxy proxy(SOAP_IO_KEEPALIVE | SOAP_C_UTFSTRING);
  cm__ContactStatus status;
  BOOST_REQUIRE_EQUAL(callContactMe(url, "7546658000", "r-ka", proxy, status), SOAP_OK);
  // The proxy keeps its connection open; the server's worker now waits on it.
  const auto started = std::chrono::steady_clock::now();
  server.stop();
  BOOST_TEST((std::chrono::steady_clock::now() - started < 2s));
  proxy.destroy();
}

BOOST_AUTO_TEST_CASE(bind_failure_names_the_address) {
  beckon::SystemClock clock;
  ThreadExecutor executor;
  AnsweringSender sender{executor};
  beckon::Core core{clock, sender};
  beckon::ContactService service{core, executor};
  beckon::soap::SoapConfig c;
  c.host = "127.0.0.1";
  c.port = 0;
  beckon::soap::SoapServer first(c, service);
  first.start();
  c.port = first.port();
  beckon::soap::SoapServer second(c, service);
  try {
    second.start();
    BOOST_FAIL("second bind succeeded");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string(e.what()).find("127.0.0.1:" + std::to_string(c.port)) !=
               std::string::npos);
  }
}

BOOST_FIXTURE_TEST_CASE(get_contact_request_answers_the_status, Fixture) {
  ContactMeProxy proxy(SOAP_IO_KEEPALIVE | SOAP_C_UTFSTRING);
  cm__ContactStatus status;
  BOOST_REQUIRE_EQUAL(callContactMe(url, "7546658000", "r-get", proxy, status), SOAP_OK);
  _cm__GetContactRequest get;
  get.requestId = "r-get";
  cm__ContactStatus got;
  BOOST_REQUIRE_EQUAL(proxy.GetContactRequest(url.c_str(), nullptr, &get, got), SOAP_OK);
  BOOST_TEST(got.requestId == "r-get");
  BOOST_TEST((got.state == cm__RequestState::delivered));
  BOOST_REQUIRE_EQUAL(got.delivery.size(), 1u);
  BOOST_TEST(got.delivery[0].sipStatus == 200);

  // Unknown request: a fault with our detail.
  get.requestId = "r-unknown";
  BOOST_TEST(proxy.GetContactRequest(url.c_str(), nullptr, &get, got) == SOAP_CLI_FAULT);
  BOOST_REQUIRE(proxy.soap->fault && proxy.soap->fault->detail &&
                proxy.soap->fault->detail->cm__fault);
  BOOST_TEST((proxy.soap->fault->detail->cm__fault->code == cm__FaultCode::InvalidArgument));
  // onBehalfOf of a server "local" may not act for: NotAuthorized.
  get.requestId = "r-get";
  std::string other = "someone-else";
  get.onBehalfOf = &other;
  BOOST_TEST(proxy.GetContactRequest(url.c_str(), nullptr, &get, got) == SOAP_CLI_FAULT);
  BOOST_REQUIRE(proxy.soap->fault->detail->cm__fault);
  BOOST_TEST((proxy.soap->fault->detail->cm__fault->code == cm__FaultCode::NotAuthorized));
  proxy.destroy();
}

BOOST_FIXTURE_TEST_CASE(cancel_contact_request_cancels_a_queued_request, Fixture) {
  ContactMeProxy proxy(SOAP_IO_KEEPALIVE | SOAP_C_UTFSTRING);
  _cm__ContactMe request;
  request.deviceId = "sip:later@example.com";
  request.requestId = "r-queued";
  unsigned queueSeconds = 60, waitMs = 0;
  request.queueSeconds = &queueSeconds;
  request.waitMs = &waitMs;
  cm__ContactStatus status;
  BOOST_REQUIRE_EQUAL(proxy.ContactMe(url.c_str(), nullptr, &request, status), SOAP_OK);
  BOOST_TEST((status.state == cm__RequestState::queued));

  _cm__CancelContactRequest cancel;
  cancel.requestId = "r-queued";
  cm__ContactStatus cancelled;
  BOOST_REQUIRE_EQUAL(proxy.CancelContactRequest(url.c_str(), nullptr, &cancel, cancelled),
                      SOAP_OK);
  BOOST_TEST(cancelled.requestId == "r-queued");
  BOOST_TEST((cancelled.state == cm__RequestState::cancelled));

  // A delivered one stays delivered.
  BOOST_REQUIRE_EQUAL(callContactMe(url, "7546658000", "r-done", proxy, status), SOAP_OK);
  cancel.requestId = "r-done";
  BOOST_REQUIRE_EQUAL(proxy.CancelContactRequest(url.c_str(), nullptr, &cancel, cancelled),
                      SOAP_OK);
  BOOST_TEST((cancelled.state == cm__RequestState::delivered));
  proxy.destroy();
}

BOOST_FIXTURE_TEST_CASE(get_device_lists_the_bindings, Fixture) {
  const auto expires = clock.now() + std::chrono::hours(2);
  executor.call([&] {
    beckon::Binding b;
    b.aor = "sip:2000@example.com";
    b.contact = "sip:2000@192.168.1.20:5060;transport=tcp";
    b.instance = "urn:dev:mac:0004f2a1b2c3";  // normalised, as the registrar stores it
    b.transport = beckon::Transport::Tcp;
    b.sourceHost = "203.0.113.9";
    b.sourcePort = 61234;
    b.expires = expires;
    b.packages.push_back({beckon::kDefaultPackage, beckon::BodyFormat::Xml, true});
    b.packages.push_back({"other-package", beckon::BodyFormat::Text, false});
    core.upsertBinding(b);
  });
  ContactMeProxy proxy(SOAP_IO_KEEPALIVE | SOAP_C_UTFSTRING);
  _cm__GetDevice get;
  cm__Device device;
  for (const char* id : {"00-04-F2-A1-B2-C3", "sip:2000@example.com", "2000"}) {
    get.deviceId = id;
    BOOST_REQUIRE_MESSAGE(proxy.GetDevice(url.c_str(), nullptr, &get, device) == SOAP_OK, id);
    BOOST_TEST(device.deviceId == id);
    BOOST_REQUIRE_EQUAL(device.binding.size(), 1u);
    const cm__Binding& b = device.binding[0];
    BOOST_TEST(b.contact == "sip:2000@192.168.1.20:5060;transport=tcp");
    BOOST_TEST(b.aor == "sip:2000@example.com");
    BOOST_REQUIRE(b.instance);
    BOOST_TEST(*b.instance == "urn:dev:mac:0004f2a1b2c3");
    BOOST_REQUIRE(b.mac);
    BOOST_TEST(*b.mac == "00:04:f2:a1:b2:c3");  // as the API documents it, not the core's form
    BOOST_TEST(b.transport == "tcp");
    BOOST_TEST(b.source == "203.0.113.9:61234");
    BOOST_TEST(b.expires == std::chrono::system_clock::to_time_t(expires));
    BOOST_REQUIRE_EQUAL(b.subscription.size(), 2u);
    BOOST_TEST(b.subscription[0].package == beckon::kDefaultPackage);
    BOOST_TEST((b.subscription[0].format == cm__BodyFormat::xml));
    BOOST_TEST((b.subscription[0].how == cm__SubscriptionKind::implicit));
    BOOST_TEST(b.subscription[1].package == "other-package");
    BOOST_TEST((b.subscription[1].format == cm__BodyFormat::text));
    BOOST_TEST((b.subscription[1].how == cm__SubscriptionKind::explicit_));
    proxy.destroy();
  }
  // The binding without an instance id has neither instance nor mac.
  get.deviceId = "7546658000";
  BOOST_REQUIRE_EQUAL(proxy.GetDevice(url.c_str(), nullptr, &get, device), SOAP_OK);
  BOOST_REQUIRE_EQUAL(device.binding.size(), 1u);
  BOOST_TEST(!device.binding[0].instance);
  BOOST_TEST(!device.binding[0].mac);
  BOOST_TEST(device.binding[0].source == "127.0.0.2:5999");

  get.deviceId = "sip:nobody@example.com";
  BOOST_TEST(proxy.GetDevice(url.c_str(), nullptr, &get, device) == SOAP_CLI_FAULT);
  BOOST_REQUIRE(proxy.soap->fault->detail->cm__fault);
  BOOST_TEST((proxy.soap->fault->detail->cm__fault->code == cm__FaultCode::UnknownDevice));
  proxy.destroy();
}

BOOST_FIXTURE_TEST_CASE(get_device_over_soap12_on_the_wire, Fixture) {
  const std::string response =
      post(server.port(),
           "<?xml version=\"1.0\"?><e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\">"
           "<e:Body><GetDevice xmlns=\"urn:beckon:contact-me:1\"><deviceId>7546658000</deviceId>"
           "</GetDevice></e:Body></e:Envelope>",
           "application/soap+xml; charset=utf-8");
  BOOST_TEST(response.rfind("HTTP/1.1 200", 0) == 0, response);
  BOOST_TEST(response.find("Content-Type: application/soap+xml") != std::string::npos, response);
  BOOST_TEST(response.find("<cm:Device>") != std::string::npos, response);
  BOOST_TEST(response.find("<cm:source>127.0.0.2:5999</cm:source>") != std::string::npos, response);
  BOOST_TEST(response.find("<cm:how>implicit</cm:how>") != std::string::npos, response);
}

BOOST_FIXTURE_TEST_CASE(beckond_refuses_device_registered, Fixture) {
  ContactMeProxy proxy(SOAP_IO_KEEPALIVE | SOAP_C_UTFSTRING);
  _cm__DeviceRegistered notice;
  notice.deviceId = "7546658000";
  notice.aor = "sip:7546658000@example.com";
  notice.package = beckon::kDefaultPackage;
  notice.sipServer = "sip:beckon.example.com";
  notice.at = 1;
  _cm__DeviceRegisteredResponse response;
  BOOST_TEST(proxy.DeviceRegistered(url.c_str(), nullptr, &notice, response) == SOAP_CLI_FAULT);
  BOOST_REQUIRE(proxy.soap->fault->detail->cm__fault);
  BOOST_TEST((proxy.soap->fault->detail->cm__fault->code == cm__FaultCode::InvalidArgument));
  proxy.destroy();
}

BOOST_FIXTURE_TEST_CASE(the_wsdl_has_every_operation_and_the_notice_service, Fixture) {
  const std::string wsdl = httpExchange(
      server.port(), "GET /contact-me.wsdl HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  for (const char* part :
       {"<operation name=\"GetContactRequest\">", "<operation name=\"CancelContactRequest\">",
        "<operation name=\"GetDevice\">", "<portType name=\"ContactMeNoticePortType\">",
        "<binding name=\"ContactMeNotice12\" type=\"tns:ContactMeNoticePortType\">",
        "<service name=\"ContactMeNotice\">",
        "<SOAP:address location=\"https://application-server.example.com/beckon/notice\"/>"}) {
    BOOST_TEST(wsdl.find(part) != std::string::npos, part);
  }
  // DeviceRegistered is not an operation of the ContactMe port type.
  const std::size_t begin = wsdl.find("<portType name=\"ContactMePortType\">");
  const std::size_t end = wsdl.find("</portType>", begin);
  BOOST_TEST(wsdl.substr(begin, end - begin).find("DeviceRegistered") == std::string::npos);
}
