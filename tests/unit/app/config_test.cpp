#include <boost/test/unit_test.hpp>

#include "config.h"

using namespace beckon::app;

namespace {

// The message a configuration is refused with ("" when it is taken).
std::string refusal(const std::string& text) {
  try {
    parseConfig(text, "test.toml");
    return "";
  } catch (const ConfigError& e) {
    return e.what();
  }
}

bool starts(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(defaults_without_a_file) {
  const Config c = parseConfig("");
  BOOST_TEST(c.sip.listen == (std::vector<std::string>{"udp:0.0.0.0:5060", "tcp:0.0.0.0:5060"}));
  BOOST_TEST(c.soap.host == "0.0.0.0");
  BOOST_TEST(c.soap.port == 8080);
  BOOST_TEST(c.storePath == "beckon.db");
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
)");
  BOOST_TEST(c.sip.listen.size() == 2u);
  BOOST_TEST(c.sip.registrar.domain == "example.com");
  BOOST_TEST(c.soap.host == "::1");
  BOOST_TEST(c.soap.port == 8081);
  BOOST_TEST(c.storePath == "/var/lib/beckon/beckon.db");
  BOOST_TEST(c.logFormat == "json");
  BOOST_TEST(c.sip.notifyTimeout.count() == 4000);
  BOOST_TEST(c.sip.registrar.packages.size() == 2u);
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
  BOOST_TEST(starts(refusal("sip = 1"), "sip: "));
  BOOST_TEST(starts(refusal("[sipp]"), "sipp: unknown key"));
  BOOST_TEST(starts(refusal("[[app_server]]\nname = \"crm\""), "app_server: "));
  // Not TOML at all: the message says where.
  BOOST_TEST(starts(refusal("[sip\n"), "test.toml:"));
}

BOOST_AUTO_TEST_SUITE_END()
