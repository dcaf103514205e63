// HTTPS and the authentication of application servers (SoapServer with
// identities), against a real Core and ContactService with a Policy.
#include <boost/test/unit_test.hpp>

#include <openssl/ssl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth.h"
#include "fixture.h"
#include "policy.h"
#include "soapContactMeProxy.h"
#include "soap_server.h"

namespace {

using namespace soaptest;
using beckon::soap::AppServerIdentity;
using beckon::soap::SoapTls;

struct Credentials {
  std::string cert;  // base name in the test PKI: "client", "rogue"
  std::string user;
  std::string password;
};

struct AuthFixture {
  beckon::SystemClock clock;
  ThreadExecutor executor;
  AnsweringSender sender{executor};
  beckon::Core core{clock, sender};
  beckon::Policy policy{rights(), {beckon::kDefaultPackage}};
  beckon::ContactService service{core, executor, &policy};
  std::unique_ptr<beckon::soap::SoapServer> server;
  std::string url;

  static std::vector<beckon::AppServerRights> rights() {
    beckon::AppServerRights crm;
    crm.name = "crm";
    crm.packages = {beckon::kDefaultPackage};
    crm.callbackServers = {"as.example.com:8443"};
    beckon::AppServerRights ops = crm;
    ops.name = "ops";
    ops.mayQueryDevices = true;
    return {crm, ops};
  }

  // crm: by its client certificate's fingerprint (as openssl prints it);
  // ops: by HTTP Basic ops / ops-secret (hash in upper case).
  static std::vector<AppServerIdentity> identities() {
    AppServerIdentity crm;
    crm.name = "crm";
    crm.certFingerprint = testPki().fingerprint("client.pem");
    AppServerIdentity ops;
    ops.name = "ops";
    ops.basicUser = "ops";
    ops.basicPasswordSha256 = beckon::soap::sha256Hex("ops-secret");
    for (char& c : ops.basicPasswordSha256)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return {crm, ops};
  }

  AuthFixture() {
    executor.call([this] {
      beckon::Binding b;
      b.aor = "sip:7546658000@example.com";
      b.contact = "sip:7546658000@127.0.0.2:5999";
      b.sourceHost = "127.0.0.2";
      b.sourcePort = 5999;
      b.expires = clock.now() + std::chrono::hours(1);
      b.packages.push_back({beckon::kDefaultPackage, beckon::BodyFormat::Text, true});
      core.upsertBinding(b);
    });
  }
  ~AuthFixture() {
    if (server) server->stop();
  }

  void start(std::optional<SoapTls::ClientCerts> tls,
             std::vector<AppServerIdentity> ids = identities()) {
    beckon::soap::SoapConfig c;
    c.host = "127.0.0.1";
    c.port = 0;
    c.workers = 2;
    c.identities = std::move(ids);
    if (tls) {
      const TestPki& pki = testPki();
      c.tls = SoapTls{pki.path("server.pem"), pki.path("server.key"), pki.path("ca.pem"), *tls};
    }
    server = std::make_unique<beckon::soap::SoapServer>(c, service);
    server->start();
    url = std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(server->port()) +
          "/";
  }

  // A proxy that verifies the server against the test CA, with `creds`.
  std::unique_ptr<ContactMeProxy> proxy(const Credentials& creds = {}) const {
    auto p = std::make_unique<ContactMeProxy>(url.c_str(), SOAP_IO_DEFAULT | SOAP_C_UTFSTRING);
    struct soap* soap = p->soap;
    soap->socket_flags = MSG_NOSIGNAL;
    soap->recv_timeout = soap->send_timeout = soap->connect_timeout = 5;
    if (!creds.user.empty()) {
      soap->userid = soap_strdup(soap, creds.user.c_str());
      soap->passwd = soap_strdup(soap, creds.password.c_str());
    }
    if (url.rfind("https", 0) == 0) {
      const TestPki& pki = testPki();
      BOOST_REQUIRE(soap_ssl_client_context(
                        soap, SOAP_SSL_DEFAULT | SOAP_SSL_NO_DEFAULT_CA_PATH | SOAP_TLSv1_2,
                        nullptr, nullptr, pki.path("ca.pem").c_str(), nullptr, nullptr) == SOAP_OK);
      if (!creds.cert.empty()) {
        BOOST_REQUIRE(SSL_CTX_use_certificate_chain_file(
                          soap->ctx, pki.path(creds.cert + ".pem").c_str()) == 1);
        BOOST_REQUIRE(SSL_CTX_use_PrivateKey_file(soap->ctx, pki.path(creds.cert + ".key").c_str(),
                                                  SSL_FILETYPE_PEM) == 1);
      }
    }
    return p;
  }

  // ContactMe as `creds`: SOAP_OK and the state, or the fault code.
  int contactMe(const Credentials& creds, const std::string& requestId,
                std::optional<cm__FaultCode>* fault = nullptr) const {
    auto p = proxy(creds);
    _cm__ContactMe request;
    request.deviceId = "7546658000";
    request.requestId = requestId;
    std::string callback = "as.example.com:8443";
    request.server = &callback;
    cm__ContactStatus status;
    const int rc = p->ContactMe(&request, status);
    if (fault) *fault = faultCode(*p);
    if (rc == SOAP_OK) BOOST_TEST((status.state == cm__RequestState::delivered));
    p->destroy();
    return rc;
  }

  int getDevice(const Credentials& creds, std::optional<cm__FaultCode>* fault = nullptr) const {
    auto p = proxy(creds);
    _cm__GetDevice request;
    request.deviceId = "7546658000";
    cm__Device device;
    const int rc = p->GetDevice(&request, device);
    if (fault) *fault = faultCode(*p);
    p->destroy();
    return rc;
  }

  static std::optional<cm__FaultCode> faultCode(ContactMeProxy& p) {
    if (!p.soap->fault || !p.soap->fault->detail || !p.soap->fault->detail->cm__fault)
      return std::nullopt;
    return p.soap->fault->detail->cm__fault->code;
  }
};

const std::optional<cm__FaultCode> kNotAuthorized = cm__FaultCode::NotAuthorized;

struct ClientRun {
  int status = -1;     // from waitpid
  std::string output;  // stdout and stderr
};

// Runs the beckon client with `args`, SIGPIPE at its default action (as from
// a shell), and collects what it prints.
ClientRun runClient(const std::vector<std::string>& args) {
  int out[2];
  BOOST_REQUIRE(::pipe(out) == 0);
  const pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    std::signal(SIGPIPE, SIG_DFL);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    ::close(out[0]);
    ::close(out[1]);
    std::vector<char*> argv{const_cast<char*>(BECKON_CLIENT)};
    for (const std::string& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(BECKON_CLIENT, argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ClientRun run;
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;)
    run.output.append(buf, static_cast<std::size_t>(n));
  ::close(out[0]);
  ::waitpid(pid, &run.status, 0);
  return run;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(auth)

BOOST_AUTO_TEST_CASE(identities_are_checked_and_normalised) {
  using beckon::soap::Authenticator;
  BOOST_TEST(beckon::soap::sha256Hex("abc") ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(beckon::soap::normalizeSha256Hex(
                 "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:"
                 "61:F2:00:15:AD") ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_CHECK_THROW(beckon::soap::normalizeSha256Hex("abcd"), std::invalid_argument);
  BOOST_CHECK_THROW(beckon::soap::normalizeSha256Hex(std::string(64, 'g')), std::invalid_argument);

  AppServerIdentity none;
  none.name = "none";
  BOOST_CHECK_THROW(Authenticator({none}), std::invalid_argument);
  AppServerIdentity userOnly = none;
  userOnly.basicUser = "u";
  BOOST_CHECK_THROW(Authenticator({userOnly}), std::invalid_argument);
  AppServerIdentity badHash = userOnly;
  badHash.basicPasswordSha256 = "nothex";
  try {
    Authenticator a({badHash});
    BOOST_FAIL("a bad hash was taken");
  } catch (const std::invalid_argument& e) {
    BOOST_TEST(std::string(e.what()).find("'none'") != std::string::npos, e.what());
  }
  AppServerIdentity good = userOnly;
  good.basicPasswordSha256 = beckon::soap::sha256Hex("pw");
  BOOST_CHECK_THROW(Authenticator({good, good}), std::invalid_argument);  // twice

  const Authenticator a({good});
  BOOST_TEST(a.byBasic("u", "pw") != nullptr);
  BOOST_TEST(a.byBasic("u", "PW") == nullptr);
  BOOST_TEST(a.byBasic("v", "pw") == nullptr);
  BOOST_TEST(a.byBasic("", "") == nullptr);
}

BOOST_FIXTURE_TEST_CASE(plain_http_with_identities_refuses_everyone, AuthFixture) {
  start(std::nullopt);
  std::optional<cm__FaultCode> fault;
  BOOST_TEST(contactMe({}, "r-1", &fault) == SOAP_CLI_FAULT);
  BOOST_TEST((fault == kNotAuthorized));
  // Right Basic credentials, but not over TLS.
  BOOST_TEST(contactMe({"", "ops", "ops-secret"}, "r-2", &fault) == SOAP_CLI_FAULT);
  BOOST_TEST((fault == kNotAuthorized));
  BOOST_TEST(getDevice({"", "ops", "ops-secret"}, &fault) == SOAP_CLI_FAULT);
  BOOST_TEST((fault == kNotAuthorized));
  // Nothing reached the core.
  std::size_t requests = 1;
  executor.call([&] { requests = core.requestCount(); });
  BOOST_TEST(requests == 0u);
  // The WSDL stays open.
  const std::string wsdl = httpExchange(
      server->port(), "GET /contact-me.wsdl HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  BOOST_TEST(wsdl.rfind("HTTP/1.1 200", 0) == 0, wsdl.substr(0, 100));
}

BOOST_FIXTURE_TEST_CASE(https_basic_identifies_the_caller, AuthFixture) {
  start(SoapTls::ClientCerts::None);
  std::optional<cm__FaultCode> fault;
  BOOST_TEST(contactMe({"", "ops", "ops-secret"}, "r-1", &fault) == SOAP_OK);
  BOOST_TEST(getDevice({"", "ops", "ops-secret"}, &fault) == SOAP_OK);
  BOOST_TEST(contactMe({"", "ops", "wrong"}, "r-2", &fault) == SOAP_CLI_FAULT);
  BOOST_TEST((fault == kNotAuthorized));
  BOOST_TEST(contactMe({"", "nobody", "ops-secret"}, "r-3", &fault) == SOAP_CLI_FAULT);
  BOOST_TEST((fault == kNotAuthorized));
  BOOST_TEST(contactMe({}, "r-4", &fault) == SOAP_CLI_FAULT);
  BOOST_TEST((fault == kNotAuthorized));
  // The request was made as ops: crm has no request r-1.
  beckon::ContactStatus status;
  executor.call([&] { status = core.status(beckon::Caller{"ops"}, "r-1"); });
  BOOST_TEST(status.requestId == "r-1");
}

BOOST_FIXTURE_TEST_CASE(a_verified_client_certificate_identifies_the_caller, AuthFixture) {
  start(SoapTls::ClientCerts::Optional);
  std::optional<cm__FaultCode> fault;
  BOOST_TEST(contactMe({"client", "", ""}, "r-1", &fault) == SOAP_OK);
  // crm may not query devices: the Policy saw the caller "crm".
  BOOST_TEST(getDevice({"client", "", ""}, &fault) == SOAP_CLI_FAULT);
  BOOST_TEST((fault == kNotAuthorized));
  // Optional: Basic still works on the same listener.
  BOOST_TEST(getDevice({"", "ops", "ops-secret"}, &fault) == SOAP_OK);
  // Same subject, not signed by the CA: the handshake fails.
  BOOST_TEST(contactMe({"rogue", "", ""}, "r-2", &fault) != SOAP_OK);
  BOOST_TEST(!fault);
  beckon::ContactStatus status;
  executor.call([&] { status = core.status(beckon::Caller{"crm"}, "r-1"); });
  BOOST_TEST((status.state == beckon::RequestState::Delivered));
}

BOOST_FIXTURE_TEST_CASE(certificate_subjects_match_in_both_spellings, AuthFixture) {
  int n = 0;
  for (const char* subject : {"CN=crm,O=Beckon Test", "/O=Beckon Test/CN=crm"}) {
    AppServerIdentity crm;
    crm.name = "crm";
    crm.certSubject = subject;
    start(SoapTls::ClientCerts::Optional, {crm});
    std::optional<cm__FaultCode> fault;
    BOOST_TEST(contactMe({"client", "", ""}, "r-" + std::to_string(++n), &fault) == SOAP_OK,
               subject);
    server->stop();
    server.reset();
  }
  AppServerIdentity other;
  other.name = "crm";
  other.certSubject = "CN=someone-else";
  start(SoapTls::ClientCerts::Optional, {other});
  std::optional<cm__FaultCode> fault;
  BOOST_TEST(contactMe({"client", "", ""}, "r-x", &fault) == SOAP_CLI_FAULT);
  BOOST_TEST((fault == kNotAuthorized));
}

BOOST_FIXTURE_TEST_CASE(required_client_certificates_end_the_handshake, AuthFixture) {
  start(SoapTls::ClientCerts::Required);
  std::optional<cm__FaultCode> fault;
  BOOST_TEST(contactMe({"", "ops", "ops-secret"}, "r-1", &fault) != SOAP_OK);
  BOOST_TEST(!fault);  // no SOAP answer at all
  BOOST_TEST(contactMe({"client", "", ""}, "r-2", &fault) == SOAP_OK);
}

BOOST_FIXTURE_TEST_CASE(the_client_reports_a_refused_handshake, AuthFixture) {
  // The server ends the handshake of a client without a certificate (a TLS
  // 1.3 client learns it when it writes): the client neither dies of SIGPIPE
  // nor hides where and why.
  start(SoapTls::ClientCerts::Required);
  const ClientRun run =
      runClient({"--server", url, "--cacert", testPki().path("ca.pem"), "--user", "ops",
                 "--password", "ops-secret", "contact-me", "--device", "7546658000", "--request-id",
                 "r-cli", "--callback", "as.example.com:8443"});
  BOOST_TEST_MESSAGE("beckon without a certificate: " << run.output);
  BOOST_TEST_CONTEXT(run.output) {
    BOOST_TEST(!WIFSIGNALED(run.status), "killed by signal " << WTERMSIG(run.status));
    BOOST_REQUIRE(WIFEXITED(run.status));
    BOOST_TEST(WEXITSTATUS(run.status) == 2);
    BOOST_TEST(run.output.find("cannot talk to " + url + ": ") != std::string::npos);
    BOOST_TEST(run.output.find("error -1") == std::string::npos);  // a reason, not a number
    BOOST_TEST(run.output.find("--cert") != std::string::npos);    // and what may help
  }
  // With the certificate it goes through.
  const ClientRun ok =
      runClient({"--server", url, "--cacert", testPki().path("ca.pem"), "--cert",
                 testPki().path("client.pem"), "--key", testPki().path("client.key"), "contact-me",
                 "--device", "7546658000", "--request-id", "r-cli-cert", "--callback",
                 "as.example.com:8443"});
  BOOST_TEST(WIFEXITED(ok.status), ok.output);
  BOOST_TEST(WEXITSTATUS(ok.status) == 0, ok.output);

  // Nobody listening: the URL and the system's reason.
  const std::string gone = url;
  server->stop();
  const ClientRun refused = runClient({"--server", gone, "--cacert", testPki().path("ca.pem"),
                                       "get-device", "--device", "7546658000"});
  BOOST_TEST(WIFEXITED(refused.status), refused.output);
  BOOST_TEST(WEXITSTATUS(refused.status) == 2, refused.output);
  BOOST_TEST(
      refused.output.find("cannot talk to " + gone + ": Connection refused") != std::string::npos,
      refused.output);
}

BOOST_FIXTURE_TEST_CASE(https_without_identities_takes_loopback_as_local, AuthFixture) {
  // ContactService with the open policy: "local" only.
  beckon::ContactService open{core, executor};
  beckon::soap::SoapConfig c;
  c.host = "127.0.0.1";
  c.port = 0;
  const TestPki& pki = testPki();
  c.tls = SoapTls{pki.path("server.pem"), pki.path("server.key"), "", SoapTls::ClientCerts::None};
  server = std::make_unique<beckon::soap::SoapServer>(c, open);
  server->start();
  url = "https://127.0.0.1:" + std::to_string(server->port()) + "/";
  BOOST_TEST(contactMe({}, "r-1") == SOAP_OK);
}

BOOST_AUTO_TEST_CASE(tls_configuration_errors_name_the_file) {
  beckon::SystemClock clock;
  ThreadExecutor executor;
  AnsweringSender sender{executor};
  beckon::Core core{clock, sender};
  beckon::ContactService service{core, executor};
  beckon::soap::SoapConfig c;
  c.host = "127.0.0.1";
  c.port = 0;
  const TestPki& pki = testPki();
  c.tls = SoapTls{pki.path("server.pem"), pki.path("missing.key"), "", SoapTls::ClientCerts::None};
  beckon::soap::SoapServer s(c, service);
  try {
    s.start();
    BOOST_FAIL("started without its key");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string(e.what()).find("missing.key") != std::string::npos, e.what());
  }
  c.tls->keyFile = pki.path("server.key");
  c.tls->clientCerts = SoapTls::ClientCerts::Required;  // without a CA file
  beckon::soap::SoapServer t(c, service);
  BOOST_CHECK_THROW(t.start(), std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()
