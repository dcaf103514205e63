// The checks beyond single keys (app/check.h), and the file checks that
// `beckond --check-config` relies on: each refusal names the key or the flag.
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "check.h"
#include "config.h"

using namespace beckon::app;

namespace {

// The message the configuration `text` with `flags` over it is refused with,
// as beckond prints it ("" when it is taken).
std::string refused(const std::string& text, const Flags& flags = {}) {
  try {
    Config c = parseConfig(text, "test.toml");
    applyFlags(c, flags);
    checkDeployment(c, flags);
    return "";
  } catch (const ConfigError& e) {
    return refusal("test.toml", e.what());
  }
}

bool starts(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

// A directory of its own, removed at the end of the test.
struct TempDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("beckon-check-test-" + std::to_string(::getpid()));
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(check)

BOOST_AUTO_TEST_CASE(flags_replace_their_keys) {
  Config c = parseConfig(
      "[sip]\nlisten = [\"udp:127.0.0.1:5070\"]\n[soap]\nlisten = \"127.0.0.1:8081\"\n"
      "[store]\npath = \"a.db\"\n[log]\nlevel = \"warn\"\n");
  Flags f;
  f.sipListen = {"udp:127.0.0.1:5080", "tcp:[::1]:5080"};
  f.soapListen = "[::1]:8090";
  f.storePath = "b.db";
  f.logLevel = "debug";
  applyFlags(c, f);
  BOOST_TEST(c.sip.listen == f.sipListen);
  BOOST_TEST(c.soap.host == "::1");
  BOOST_TEST(c.soap.port == 8090);
  BOOST_TEST(c.store.path == "b.db");
  BOOST_TEST(c.logLevel == "debug");
}

BOOST_AUTO_TEST_CASE(a_bad_flag_is_named) {
  Flags f;
  f.sipListen = {"udp:127.0.0.1"};
  BOOST_TEST(starts(refused("", f), "--sip-listen: "));
  f.sipListen = {"tls:127.0.0.1:5061"};
  BOOST_TEST(starts(refused("", f), "--sip-listen: 'tls:127.0.0.1:5061' needs [sip.tls]"));
  f = {};
  f.soapListen = "8080";
  BOOST_TEST(starts(refused("", f), "--soap-listen: "));
  f = {};
  f.logLevel = "loud";
  BOOST_TEST(starts(refused("", f), "--log-level: "));
  f = {};
  f.storePath = "/nonexistent-beckon-dir/beckon.db";
  BOOST_TEST(refused("", f) == "--store: the directory '/nonexistent-beckon-dir' does not exist");
}

BOOST_AUTO_TEST_CASE(two_listeners_on_one_port_are_refused) {
  // SOAP on the SIP TCP port: the wildcard overlaps the loopback address.
  BOOST_TEST(starts(refused("[soap]\nlisten = \"127.0.0.1:5060\"\n"),
                    "test.toml: soap.listen: '127.0.0.1:5060': TCP port 5060 is taken by "
                    "sip.listen 'tcp:0.0.0.0:5060'"));
  // TLS and TCP share the TCP port space; UDP and TCP do not.
  BOOST_TEST(starts(refused("[sip]\nlisten = [\"tcp:127.0.0.1:5060\", \"udp:127.0.0.1:5060\", "
                            "\"tcp:127.0.0.1:5060\"]\n"),
                    "test.toml: sip.listen: 'tcp:127.0.0.1:5060': TCP port 5060"));
  BOOST_TEST(refused("[sip]\nlisten = [\"udp:127.0.0.1:5060\", \"tcp:127.0.0.1:5060\", "
                     "\"udp:127.0.0.2:5060\"]\n") == "");
  // Another family, another address, or port 0 (any free port): no conflict.
  BOOST_TEST(refused("[soap]\nlisten = \"[::1]:5060\"\n") == "");
  BOOST_TEST(
      refused("[sip]\nlisten = [\"tcp:127.0.0.1:5060\"]\n[soap]\nlisten = \"127.0.0.2:5060\"\n") ==
      "");
  BOOST_TEST(refused("[sip]\nlisten = [\"tcp:127.0.0.1:0\"]\n[soap]\nlisten = \"127.0.0.1:0\"\n") ==
             "");
  BOOST_TEST(
      starts(refused("[sip]\nlisten = [\"tcp:[::]:5070\"]\n[soap]\nlisten = \"[::1]:5070\"\n"),
             "test.toml: soap.listen: '[::1]:5070': TCP port 5070"));
  // The flag that made the conflict is named, not the file's key.
  Flags f;
  f.soapListen = "0.0.0.0:5060";
  BOOST_TEST(starts(refused("", f), "--soap-listen: '0.0.0.0:5060': TCP port 5060"));
}

BOOST_AUTO_TEST_CASE(the_store_needs_its_directory) {
  TempDir dir;
  BOOST_TEST(refused("[store]\npath = \"" + (dir.path / "beckon.db").string() + "\"\n") == "");
  BOOST_TEST(refused("[store]\npath = \"beckon.db\"\n") == "");  // the working directory
  BOOST_TEST(refused("[store]\npath = \"" + (dir.path / "no" / "beckon.db").string() + "\"\n") ==
             "test.toml: store.path: the directory '" + (dir.path / "no").string() +
                 "' does not exist");
  BOOST_TEST(refused("[store]\npath = \"" + dir.path.string() + "\"\n") ==
             "test.toml: store.path: '" + dir.path.string() + "' is a directory");
}

BOOST_AUTO_TEST_CASE(ca_files_must_hold_certificates) {
  TempDir dir;
  const std::string text = dir.file("not-a-ca.pem", "not a certificate\n");
  BOOST_TEST(refused("[notices]\nca = \"" + text + "\"\n") ==
             "test.toml: notices.ca: '" + text + "' holds no PEM certificate");
  BOOST_TEST(refused("[notices]\nca = \"" + dir.path.string() + "\"\n") ==
             "test.toml: notices.ca: '" + dir.path.string() + "' is a directory");
  BOOST_TEST(starts(refused("[notices]\nca = \"" + (dir.path / "missing.pem").string() + "\"\n"),
                    "test.toml: notices.ca: '"));
  BOOST_TEST(starts(refused("[sip.tls]\ncert = \"" + dir.path.string() + "\"\nkey = \"x\"\n"),
                    "test.toml: sip.tls.cert: '" + dir.path.string() + "' is a directory"));
}

BOOST_AUTO_TEST_CASE(refusals_name_the_file_unless_about_a_flag) {
  BOOST_TEST(refusal("a.toml", "sip.listn: unknown key") == "a.toml: sip.listn: unknown key");
  BOOST_TEST(refusal("a.toml", "a.toml:3:1: bad") == "a.toml:3:1: bad");
  BOOST_TEST(refusal("a.toml", "--store: bad") == "--store: bad");
  BOOST_TEST(refusal("", "sip.listn: unknown key") == "sip.listn: unknown key");
}

// deploy/examples/beckond.toml spells out the defaults: a default changed in
// the code must be changed there too.
BOOST_AUTO_TEST_CASE(the_single_server_example_is_the_defaults) {
  std::ifstream in(std::string(BECKON_SOURCE_DIR) + "/deploy/examples/beckond.toml");
  BOOST_REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  const Config e = parseConfig(text.str(), "beckond.toml");
  const Config d = parseConfig("");
  BOOST_TEST(e.store.path == "/var/lib/beckon/beckon.db");  // the one default not kept
  BOOST_TEST(e.sip.listen == d.sip.listen);
  BOOST_TEST(e.sip.registrar.domain == d.sip.registrar.domain);
  BOOST_TEST(e.sip.registrar.minExpires == d.sip.registrar.minExpires);
  BOOST_TEST(e.sip.registrar.maxExpires == d.sip.registrar.maxExpires);
  BOOST_TEST(e.sip.registrar.defaultExpires == d.sip.registrar.defaultExpires);
  BOOST_TEST(e.sip.udpReceiveBuffer == d.sip.udpReceiveBuffer);
  BOOST_TEST(!e.sip.tls.has_value());
  BOOST_TEST(!e.sip.auth.auth.has_value());
  BOOST_TEST(e.core.packages == d.core.packages);
  BOOST_TEST(e.sip.notifyTimeout.count() == d.sip.notifyTimeout.count());
  BOOST_TEST(e.core.keepEnded.count() == d.core.keepEnded.count());
  BOOST_TEST(e.soap.host == d.soap.host);
  BOOST_TEST(e.soap.port == d.soap.port);
  BOOST_TEST(e.soap.workers == d.soap.workers);
  BOOST_TEST(e.soap.recvTimeoutMs == d.soap.recvTimeoutMs);
  BOOST_TEST(e.soap.sendTimeoutMs == d.soap.sendTimeoutMs);
  BOOST_TEST(e.soap.maxBodyBytes == d.soap.maxBodyBytes);
  BOOST_TEST(!e.soap.tls.has_value());
  BOOST_TEST(e.appServers.empty());
  BOOST_TEST(e.logLevel == d.logLevel);
  BOOST_TEST(e.logFormat == d.logFormat);
  BOOST_TEST(e.notices.caFile == d.notices.caFile);
  BOOST_TEST(e.notices.attempts == d.notices.attempts);
  BOOST_TEST(e.notices.firstBackoff.count() == d.notices.firstBackoff.count());
  BOOST_TEST(e.notices.maxBackoff.count() == d.notices.maxBackoff.count());
  BOOST_TEST(e.notices.timeout.count() == d.notices.timeout.count());
  BOOST_TEST(e.sip.notifyCredentials.empty());
}

BOOST_AUTO_TEST_SUITE_END()
