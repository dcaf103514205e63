#include <boost/test/unit_test.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "config.h"
#include "refusal.h"

using namespace beckon::app;

using beckon::app::test::refusal;
using beckon::app::test::starts;

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(defaults_without_a_file) {
  const Config c = parseConfig("");
  BOOST_TEST(c.sip.listen == (std::vector<std::string>{"udp:0.0.0.0:5060", "tcp:0.0.0.0:5060"}));
  BOOST_TEST(c.soap.host == "0.0.0.0");
  BOOST_TEST(c.soap.port == 8080);
  BOOST_TEST(c.store.path == "beckon.db");
  BOOST_TEST(c.logLevel == "info");
  BOOST_TEST(c.core.packages == std::vector<std::string>{"application-server-contact-me"});
  BOOST_TEST(c.sip.notifyTimeout.count() == 32000);
}

BOOST_AUTO_TEST_CASE(the_contracts_keys_are_read) {
  const Config c = parseConfig(R"(
[sip]
listen = ["udp:127.0.0.1:5070", "tcp:[::1]:5070"]
domain = "example.com"
[soap]
listen = "[::1]:8081"
[store]
path = "/var/lib/beckon/beckon.db"
[log]
level = "debug"
format = "json"
[contact_me]
packages = ["application-server-contact-me", "directory-sync"]
notify_timeout_ms = 4000
subscribe_registrations = ["directory-sync"]
)");
  BOOST_TEST(c.sip.listen.size() == 2u);
  BOOST_TEST(c.sip.registrar.domain == "example.com");
  BOOST_TEST(c.soap.host == "::1");
  BOOST_TEST(c.soap.port == 8081);
  BOOST_TEST(c.store.path == "/var/lib/beckon/beckon.db");
  BOOST_TEST(c.logFormat == "json");
  BOOST_TEST(c.sip.notifyTimeout.count() == 4000);
  BOOST_TEST(c.sip.registrar.packages.size() == 2u);
  BOOST_TEST(c.sip.registrar.everyRegistration == std::vector<std::string>{"directory-sync"});
}

BOOST_AUTO_TEST_CASE(a_bad_configuration_names_the_key) {
  BOOST_TEST(starts(refusal("[sip]\nlisten = [\"udp:1.2.3.4\"]"), "sip.listen: "));
  BOOST_TEST(starts(refusal("[sip]\nlisten = \"udp:1.2.3.4:5060\""), "sip.listen: "));
  BOOST_TEST(starts(refusal("[sip]\nlisten = [\"sctp:1.2.3.4:5060\"]"), "sip.listen: "));
  BOOST_TEST(starts(refusal("[sip]\nlistn = []"), "sip.listn: unknown key"));
  BOOST_TEST(starts(refusal("[sip]\nmin_expires = 0"), "sip.min_expires: "));
  BOOST_TEST(starts(refusal("[soap]\nlisten = \"8080\""), "soap.listen: "));
  BOOST_TEST(starts(refusal("[soap]\nlisten = \"host:99999\""), "soap.listen: "));
  BOOST_TEST(starts(refusal("[log]\nlevel = \"loud\""), "log.level: "));
  BOOST_TEST(starts(refusal("[log]\nformat = \"xml\""), "log.format: "));
  BOOST_TEST(starts(refusal("[contact_me]\nnotify_timeout_ms = \"fast\""),
                    "contact_me.notify_timeout_ms: "));
  BOOST_TEST(starts(refusal("[contact_me]\npackages = [\"a b\"]"), "contact_me.packages: "));
  BOOST_TEST(starts(refusal("[contact_me]\nsubscribe_registrations = [\"other\"]"),
                    "contact_me.subscribe_registrations: "));
  BOOST_TEST(starts(refusal("sip = 1"), "sip: "));
  BOOST_TEST(starts(refusal("[sipp]"), "sipp: unknown key"));
  // Found by fuzz_config: the empty key gave ": unknown key", naming nothing.
  BOOST_TEST(starts(refusal("'' = 1"), "\"\": unknown key"));
  BOOST_TEST(starts(refusal("[sip]\n'a b' = 1"), "sip.\"a b\": unknown key"));
  // Not TOML at all: the message says where.
  BOOST_TEST(starts(refusal("[sip\n"), "test.toml:"));
}

namespace {

// A readable file for the keys that name certificate files.
// A PEM file holding a fresh EC key and its self-signed certificate: good as
// cert, key and CA for the keys that name such files.
struct TempFile {
  std::string path;
  // valid from `from` to `until` seconds from now
  explicit TempFile(const std::string& name = "pem", long from = 0, long until = 3600) {
    path = "/tmp/beckon-config-test-" + std::to_string(::getpid()) + "-" + name + ".pem";
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), from);
    X509_gmtime_adj(X509_getm_notAfter(cert), until);
    X509_set_pubkey(cert, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("test"), -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    X509_sign(cert, key, EVP_sha256());
    FILE* out = std::fopen(path.c_str(), "w");
    PEM_write_PrivateKey(out, key, nullptr, nullptr, 0, nullptr, nullptr);
    PEM_write_X509(out, cert);
    std::fclose(out);
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  ~TempFile() { std::remove(path.c_str()); }
};

const std::string kSha = std::string(64, 'a');

}  // namespace

BOOST_AUTO_TEST_CASE(application_servers_and_their_rights) {
  TempFile pem;
  const Config c = parseConfig(R"(
[soap.tls]
cert = ")" + pem.path + R"("
key = ")" + pem.path + R"("
ca = ")" + pem.path + R"("
client_certs = "optional"
[[app_server]]
name = "crm"
basic_auth = { user = "crm", password_sha256 = ")" +
                               kSha + R"(" }
callback_servers = ["crm.example.com:8443", "198.51.100.7:*"]
query_devices = true
rate = 20
notice_url = "https://crm.example.com/beckon/notice"
[[app_server]]
name = "trigger"
tls_fingerprint = "AB:)" + std::string(62, 'C') +
                               R"("
acts_for = ["crm"]
[[notify_credentials]]
realm = "phones"
user = "beckon"
password = "secret"
[[notify_credentials]]
device = "00:04:f2:a1:b2:c3"
user = "dev"
password = "pw"
[notices]
attempts = 3
)");
  BOOST_TEST_REQUIRE(c.appServers.size() == 2u);
  const auto& crm = c.appServers[0];
  BOOST_TEST(crm.rights.name == "crm");
  BOOST_TEST(crm.identity.basicUser == "crm");
  BOOST_TEST(crm.rights.packages == std::vector<std::string>{"application-server-contact-me"});
  BOOST_TEST(crm.rights.callbackServers.size() == 2u);
  BOOST_TEST(crm.rights.mayQueryDevices);
  BOOST_TEST(crm.rights.requestsPerSecond == 20.0);
  BOOST_TEST(crm.rights.noticeUrl == "https://crm.example.com/beckon/notice");
  BOOST_TEST(c.appServers[1].identity.certFingerprint == "ab" + std::string(62, 'c'));
  BOOST_TEST(c.soap.identities.size() == 2u);
  BOOST_TEST_REQUIRE(c.notices.targets.size() == 1u);
  BOOST_TEST(c.notices.targets[0].url == "https://crm.example.com/beckon/notice");
  BOOST_TEST(c.appServers[1].rights.actsFor == std::vector<std::string>{"crm"});
  BOOST_TEST((c.soap.tls->clientCerts == beckon::soap::SoapTls::ClientCerts::Optional));
  BOOST_TEST(c.notices.attempts == 3u);
  BOOST_TEST_REQUIRE(c.sip.notifyCredentials.size() == 2u);
  BOOST_TEST(c.sip.notifyCredentials[1].device.at(0).value == "0004f2a1b2c3");
}

BOOST_AUTO_TEST_CASE(application_server_mistakes_name_the_key) {
  TempFile pem;
  const std::string tls = "[soap.tls]\ncert = \"" + pem.path + "\"\nkey = \"" + pem.path + "\"\n";
  const std::string basic = "basic_auth = { user = \"crm\", password_sha256 = \"" + kSha + "\" }\n";
  BOOST_TEST(
      starts(refusal("[[app_server]]\nname = \"crm\"\n" + basic), "app_server.crm.basic_auth: "));
  BOOST_TEST(
      starts(refusal(tls + "[[app_server]]\nname = \"crm\"\n"), "app_server.crm.basic_auth: "));
  BOOST_TEST(starts(refusal(tls + "[[app_server]]\nname = \"crm\"\nbasic_auth = { user = \"crm\", "
                                  "password_sha256 = \"xyz\" }"),
                    "app_server.crm.basic_auth.password_sha256: "));
  BOOST_TEST(
      starts(refusal(tls + "[[app_server]]\nname = \"crm\"\n" + basic + "acts_for = [\"nobody\"]"),
             "app_server.crm.acts_for: "));
  BOOST_TEST(
      starts(refusal(tls + "[[app_server]]\nname = \"crm\"\n" + basic + "packages = [\"other\"]"),
             "app_server.crm.packages: "));
  BOOST_TEST(starts(
      refusal(tls + "[[app_server]]\nname = \"crm\"\n" + basic + "callback_servers = [\"nohost\"]"),
      "app_server.crm.callback_servers: "));
  BOOST_TEST(
      starts(refusal(tls + "[[app_server]]\nname = \"crm\"\n" + basic + "notice_url = \"ftp://x\""),
             "app_server.crm.notice_url: "));
  BOOST_TEST(starts(refusal(tls + "[[app_server]]\nname = \"crm\"\n" + basic +
                            "[[app_server]]\nname = \"crm\"\n" + basic),
                    "app_server[1].name: "));
  BOOST_TEST(starts(refusal(tls + "[[app_server]]\nname = \"crm\"\ntls_subject = \"CN=crm\""),
                    "app_server.crm.tls_subject: "));
  BOOST_TEST(
      starts(refusal("[soap.tls]\ncert = \"/nonexistent.pem\"\nkey = \"x\""), "soap.tls.cert: "));
  BOOST_TEST(starts(refusal(tls + "client_certs = \"sometimes\""), "soap.tls.client_certs: "));
  TempFile other("other");
  BOOST_TEST(
      starts(refusal("[soap.tls]\ncert = \"" + pem.path + "\"\nkey = \"" + other.path + "\"\n"),
             "soap.tls.key: does not belong"));
  BOOST_TEST(
      starts(refusal("[sip.tls]\ncert = \"" + other.path + "\"\nkey = \"" + pem.path + "\"\n"),
             "sip.tls.key: does not belong"));
  // Checked at start: expired, or not valid yet.
  TempFile expired("expired", -7200, -3600);
  BOOST_TEST(starts(
      refusal("[sip.tls]\ncert = \"" + expired.path + "\"\nkey = \"" + expired.path + "\"\n"),
      "sip.tls.cert: '" + expired.path + "' expired on "));
  TempFile early("early", 3600, 7200);
  BOOST_TEST(
      starts(refusal("[soap.tls]\ncert = \"" + early.path + "\"\nkey = \"" + early.path + "\"\n"),
             "soap.tls.cert: '" + early.path + "' is not valid before "));
  BOOST_TEST(starts(refusal("[sip]\nlisten = [\"tls:127.0.0.1:5061\"]\n"), "sip.listen: "));
  BOOST_TEST(refusal("[sip]\nlisten = [\"tls:127.0.0.1:5061\"]\n[sip.tls]\ncert = \"" + pem.path +
                     "\"\nkey = \"" + pem.path + "\"\n") == "");
  BOOST_TEST(starts(refusal("[[notify_credentials]]\nuser = \"a\"\npassword = \"b\""),
                    "notify_credentials[0].realm: "));
  BOOST_TEST(starts(refusal("[[notify_credentials]]\nrealm = \"r\"\nuser = \"a\""),
                    "notify_credentials[0].password: "));
}

BOOST_AUTO_TEST_CASE(sip_digest_authentication) {
  const Config none = parseConfig("");
  BOOST_TEST(!none.sip.auth.auth.has_value());
  BOOST_TEST(!none.sip.auth.needsCredentials("REGISTER"));

  const Config c = parseConfig(R"(
[sip]
domain = "example.com"
[sip.auth]
realm = "example.com"
nonce_lifetime_s = 120
methods = ["REGISTER"]
algorithms = ["SHA-256", "MD5"]
offer = "all"
source_failure_limit = 7
user_failure_limit = 0
failure_window_s = 30
block_s = 5
[[sip.auth.user]]
user = "7546658000"
ha1_md5 = ")" + std::string(32, 'A') +
                               R"("
ha1_sha256 = ")" + std::string(64, 'b') +
                               R"("
[[sip.auth.user]]
user = "7546658001"
ha1_sha256 = ")" + std::string(64, 'c') +
                               R"("
)");
  BOOST_TEST_REQUIRE(c.sip.auth.auth.has_value());
  const auto& d = *c.sip.auth.auth;
  BOOST_TEST(d.realm == "example.com");
  BOOST_TEST(d.nonceLifetime.count() == 120);
  BOOST_TEST((d.algorithms ==
              std::vector<beckon::sip::DigestAlgorithm>{beckon::sip::DigestAlgorithm::Sha256,
                                                        beckon::sip::DigestAlgorithm::Md5}));
  BOOST_TEST((d.offer == beckon::sip::DigestOffer::All));
  BOOST_TEST_REQUIRE(d.users.size() == 2u);
  BOOST_TEST(d.users[0].user == "7546658000");
  BOOST_TEST(d.users[0].ha1Md5 == std::string(32, 'a'));  // lowercased
  BOOST_TEST(d.users[0].ha1Sha256 == std::string(64, 'b'));
  BOOST_TEST(d.users[1].ha1Md5 == "");
  BOOST_TEST(c.sip.auth.needsCredentials("REGISTER"));
  BOOST_TEST(!c.sip.auth.needsCredentials("SUBSCRIBE"));
  BOOST_TEST(c.sip.auth.limits.sourceFailures == 7u);
  BOOST_TEST(c.sip.auth.limits.userFailures == 0u);
  BOOST_TEST(c.sip.auth.limits.window.count() == 30);
  BOOST_TEST(c.sip.auth.limits.block.count() == 5);

  const Config defaults = parseConfig(
      "[sip.auth]\nrealm = \"r\"\n[[sip.auth.user]]\nuser = \"u\"\n"
      "ha1_md5 = \"" +
      std::string(32, '0') + "\"\n");
  BOOST_TEST(defaults.sip.auth.auth->nonceLifetime.count() == 300);
  BOOST_TEST(defaults.sip.auth.authMethods == (std::vector<std::string>{"REGISTER", "SUBSCRIBE"}));
  // MD5 first: what SIPp's and sipvicious's digest clients can use.
  BOOST_TEST((defaults.sip.auth.auth->algorithms ==
              std::vector<beckon::sip::DigestAlgorithm>{beckon::sip::DigestAlgorithm::Md5,
                                                        beckon::sip::DigestAlgorithm::Sha256}));
  // One challenge a response, for the user: what libre and Sofia-SIP can use.
  BOOST_TEST((defaults.sip.auth.auth->offer == beckon::sip::DigestOffer::PerUser));
  BOOST_TEST((defaults.sip.auth.limits == beckon::sip::AuthLimits{}));
  BOOST_TEST(defaults.sip.auth.limits.sourceFailures == 50u);
  BOOST_TEST(defaults.sip.auth.limits.userFailures == 20u);
}

BOOST_AUTO_TEST_CASE(sip_digest_mistakes_name_the_key) {
  const std::string user =
      "[[sip.auth.user]]\nuser = \"u\"\nha1_md5 = \"" + std::string(32, '0') + "\"\n";
  const std::string head = "[sip.auth]\nrealm = \"r\"\n";
  BOOST_TEST(starts(refusal("[sip.auth]\n" + user), "sip.auth.realm: required"));
  BOOST_TEST(starts(refusal("[sip.auth]\nrealm = \"a\\\"b\"\n" + user), "sip.auth.realm: "));
  BOOST_TEST(starts(refusal(head), "sip.auth.user: "));
  BOOST_TEST(starts(refusal(head + "user = 1\n"), "sip.auth.user: "));
  BOOST_TEST(
      starts(refusal(head + "nonce_lifetime_s = 0\n" + user), "sip.auth.nonce_lifetime_s: "));
  BOOST_TEST(starts(refusal(head + "methods = [\"INVITE\"]\n" + user), "sip.auth.methods: "));
  BOOST_TEST(starts(refusal(head + "methods = []\n" + user), "sip.auth.methods: "));
  BOOST_TEST(starts(refusal(head + "password = \"x\"\n" + user), "sip.auth.password: unknown key"));
  BOOST_TEST(starts(refusal(head + "algorithms = []\n" + user), "sip.auth.algorithms: "));
  BOOST_TEST(
      starts(refusal(head + "algorithms = [\"SHA-512\"]\n" + user), "sip.auth.algorithms: "));
  BOOST_TEST(
      starts(refusal(head + "algorithms = [\"MD5\", \"MD5\"]\n" + user), "sip.auth.algorithms: "));
  BOOST_TEST(starts(refusal(head + "offer = \"both\"\n" + user), "sip.auth.offer: "));
  for (const char* key :
       {"source_failure_limit", "user_failure_limit", "failure_window_s", "block_s"}) {
    BOOST_TEST(
        starts(refusal(head + key + " = -1\n" + user), std::string("sip.auth.") + key + ": "));
    BOOST_TEST(
        starts(refusal(head + key + " = \"x\"\n" + user), std::string("sip.auth.") + key + ": "));
  }
  BOOST_TEST(
      starts(refusal(head + "failure_window_s = 0\n" + user), "sip.auth.failure_window_s: "));
  BOOST_TEST(starts(refusal(head + "block_s = 86401\n" + user), "sip.auth.block_s: "));
  // u has an MD5 HA1 only: nobody could answer a SHA-256 challenge.
  BOOST_TEST(starts(refusal(head + "algorithms = [\"SHA-256\"]\n" + user),
                    "sip.auth.algorithms: no [[sip.auth.user]]"));
  BOOST_TEST(starts(refusal(head + "[[sip.auth.user]]\nha1_md5 = \"" + std::string(32, '0') + "\""),
                    "sip.auth.user[0].user: required"));
  BOOST_TEST(starts(refusal(head + "[[sip.auth.user]]\nuser = \"u\"\npassword = \"x\""),
                    "sip.auth.user[0].password: unknown key"));
  BOOST_TEST(
      starts(refusal(head + "[[sip.auth.user]]\nuser = \"u\""), "sip.auth.user.u.ha1_md5: "));
  BOOST_TEST(starts(refusal(head + "[[sip.auth.user]]\nuser = \"u\"\nha1_md5 = \"xyz\""),
                    "sip.auth.user.u.ha1_md5: "));
  BOOST_TEST(starts(refusal(head + "[[sip.auth.user]]\nuser = \"u\"\nha1_sha256 = \"" +
                            std::string(32, '0') + "\""),
                    "sip.auth.user.u.ha1_sha256: "));
  BOOST_TEST(starts(refusal(head + user + user), "sip.auth.user[1].user: "));
  BOOST_TEST(starts(refusal("[sip]\nauth = 1"), "sip.auth: "));
}

BOOST_AUTO_TEST_CASE(proxy_defaults) {
  const Config c = parseConfig("");
  BOOST_TEST(c.sip.proxy.enabled);
  BOOST_TEST(c.sip.proxy.recordRoute);
  BOOST_TEST(!c.sip.proxy.followRedirects);
  BOOST_TEST(!c.sip.proxy.relay);
  BOOST_TEST(!c.sip.proxy.authenticate);
  BOOST_TEST(c.sip.proxy.users.empty());
  // With [sip.auth], callers are authenticated unless [proxy] says otherwise.
  const std::string auth =
      "[sip.auth]\nrealm = \"r\"\n[[sip.auth.user]]\nuser = \"u\"\nha1_md5 = \"" +
      std::string(32, '0') + "\"\n";
  BOOST_TEST(parseConfig(auth).sip.proxy.authenticate);
  BOOST_TEST(!parseConfig(auth + "[proxy]\nauthenticate = false\n").sip.proxy.authenticate);
}

BOOST_AUTO_TEST_CASE(proxy_users_are_read) {
  const Config c = parseConfig(R"(
[sip]
domain = "Example.com"
[proxy]
record_route = false
follow_redirects = true
relay = true
domains = ["Example.NET"]
[[proxy.user]]
aor = "sales"
fork = "sequential"
ring_seconds = 15
targets = ["sip:alice@example.com", "sip:+15551234@gw.example.org;user=phone"]
forward_no_answer_seconds = 40
forward_to = "sip:reception@example.com"
voicemail = "sip:vm@10.0.0.5:5070"
[[proxy.user]]
aor = "sips:Bob@EXAMPLE.net;transport=tls"
fork = "parallel"
)");
  const auto& p = c.sip.proxy;
  BOOST_TEST(!p.recordRoute);
  BOOST_TEST(p.followRedirects);
  BOOST_TEST(p.relay);
  BOOST_TEST(p.domains == std::vector<std::string>{"example.net"});
  BOOST_REQUIRE(p.users.size() == 2u);
  BOOST_TEST(p.users[0].aor == "sip:sales@example.com");
  BOOST_TEST((p.users[0].fork == beckon::sip::ForkMode::Sequential));
  BOOST_TEST(p.users[0].ring.count() == 15);
  BOOST_TEST(p.users[0].targets.size() == 2u);
  BOOST_TEST(p.users[0].forwardNoAnswer.count() == 40);
  BOOST_TEST(p.users[0].forwardTo == "sip:reception@example.com");
  BOOST_TEST(p.users[0].voicemail == "sip:vm@10.0.0.5:5070");
  BOOST_TEST(p.users[1].aor == "sip:Bob@example.net");
  BOOST_TEST((p.users[1].fork == beckon::sip::ForkMode::Parallel));
  BOOST_TEST(p.users[1].ring.count() == 0);
}

BOOST_AUTO_TEST_CASE(proxy_mistakes_name_the_key) {
  const std::string sip = "[sip]\ndomain = \"example.com\"\n";
  const std::string user = "[[proxy.user]]\naor = \"bob\"\n";
  BOOST_TEST(starts(refusal("[proxy]\nrelay = 1"), "proxy.relay: "));
  BOOST_TEST(starts(refusal("[proxy]\nrecord_routes = true"), "proxy.record_routes: unknown key"));
  BOOST_TEST(
      starts(refusal("[proxy]\nauthenticate = true"), "proxy.authenticate: needs [sip.auth]"));
  BOOST_TEST(
      starts(refusal("[proxy]\ndomains = [\"example.net\"]"), "proxy.domains: needs sip.domain"));
  BOOST_TEST(starts(refusal(sip + "[proxy]\ndomains = [\"a b\"]"), "proxy.domains: "));
  BOOST_TEST(starts(refusal("[proxy]\nuser = 1"), "proxy.user: "));
  BOOST_TEST(starts(refusal("[[proxy.user]]\nfork = \"q\""), "proxy.user[0].aor: required"));
  BOOST_TEST(starts(refusal(user), "proxy.user[0].aor: 'bob' needs sip.domain"));
  BOOST_TEST(starts(refusal("[[proxy.user]]\naor = \"tel:+1555\""), "proxy.user[0].aor: "));
  BOOST_TEST(starts(refusal(sip + "[[proxy.user]]\naor = \"sip:bob@other.org\""),
                    "proxy.user[0].aor: 'sip:bob@other.org' is not in sip.domain"));
  BOOST_TEST(starts(refusal(sip + user + user), "proxy.user[1].aor: 'bob' is used twice"));
  const std::string named = "proxy.user.sip:bob@example.com.";
  BOOST_TEST(starts(refusal(sip + user + "fork = \"random\""), named + "fork: "));
  BOOST_TEST(starts(refusal(sip + user + "ring_seconds = -1"), named + "ring_seconds: "));
  BOOST_TEST(starts(refusal(sip + user + "ring_seconds = 3601"), named + "ring_seconds: "));
  BOOST_TEST(starts(refusal(sip + user + "targets = [\"alice\"]"), named + "targets: "));
  BOOST_TEST(starts(refusal(sip + user + "targets = [\"sip:bob@example.com\"]"),
                    named + "targets: 'sip:bob@example.com' is the aor itself"));
  BOOST_TEST(starts(refusal(sip + user + "forward_no_answer_seconds = 20"),
                    named + "forward_no_answer_seconds: needs forward_to or voicemail"));
  BOOST_TEST(starts(refusal(sip + user + "forward_to = \"mailto:x@y\""), named + "forward_to: "));
  BOOST_TEST(
      starts(refusal(sip + user + "voicemail = \"sip:bob@example.com\""), named + "voicemail: "));
  BOOST_TEST(starts(refusal(sip + user + "ring = 3"), "proxy.user[0].ring: unknown key"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(reload)

BOOST_AUTO_TEST_CASE(keys_that_need_a_restart_are_named) {
  const Config a = parseConfig("[log]\nlevel = \"info\"\n");
  BOOST_TEST(keysNeedingRestart(a, a).empty());
  // What SIGHUP applies is not listed.
  const Config b = parseConfig(
      "[log]\nlevel = \"debug\"\n[[notify_credentials]]\nrealm = \"r\"\nuser = \"u\"\n"
      "password = \"p\"\n");
  BOOST_TEST(keysNeedingRestart(a, b).empty());
  const Config c = parseConfig(
      "[sip]\nlisten = [\"udp:127.0.0.1:5070\"]\n[soap]\nworkers = 2\n[store]\npath = \"x.db\"\n"
      "[log]\nformat = \"json\"\n");
  BOOST_TEST(keysNeedingRestart(a, c) ==
             (std::vector<std::string>{"sip.listen", "soap.workers", "store.path", "log.format"}));
  const Config d = parseConfig("[log]\nlevel = \"info\"\n[proxy]\nrelay = true\n");
  BOOST_TEST(keysNeedingRestart(a, d) == std::vector<std::string>{"proxy"});
  const Config e = parseConfig("[limits]\naor_rate = 5.0\n");
  BOOST_TEST(keysNeedingRestart(a, e) == (std::vector<std::string>{"limits"}));
}

BOOST_AUTO_TEST_SUITE_END()
