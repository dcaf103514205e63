#include "config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace beckon::app {

namespace {

[[noreturn]] void bad(const std::string& key, const std::string& problem) {
  throw ConfigError(key + ": " + problem);
}

// Refuses keys this version does not know: a typo must not pass silently.
void onlyKeys(const toml::table& table, const std::string& prefix, std::set<std::string> known) {
  for (auto&& [k, v] : table) {
    if (!known.count(std::string(k.str()))) {
      bad(prefix + std::string(k.str()), "unknown key");
    }
  }
}

const toml::table* section(const toml::table& root, const std::string& name) {
  const toml::node* n = root.get(name);
  if (!n) return nullptr;
  if (!n->is_table()) bad(name, "must be a table ([" + name + "])");
  return n->as_table();
}

std::string getString(const toml::table& t, const std::string& prefix, const char* key,
                      std::string fallback) {
  const toml::node* n = t.get(key);
  if (!n) return fallback;
  if (!n->is_string()) bad(prefix + key, "must be a string");
  return n->value<std::string>().value();
}

std::int64_t getInt(const toml::table& t, const std::string& prefix, const char* key,
                    std::int64_t fallback, std::int64_t min, std::int64_t max) {
  const toml::node* n = t.get(key);
  if (!n) return fallback;
  if (!n->is_integer()) bad(prefix + key, "must be an integer");
  const std::int64_t v = n->value<std::int64_t>().value();
  if (v < min || v > max) {
    bad(prefix + key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return v;
}

std::vector<std::string> getStrings(const toml::table& t, const std::string& prefix,
                                    const char* key, std::vector<std::string> fallback) {
  const toml::node* n = t.get(key);
  if (!n) return fallback;
  if (!n->is_array()) bad(prefix + key, "must be an array of strings");
  std::vector<std::string> out;
  for (const toml::node& e : *n->as_array()) {
    if (!e.is_string()) bad(prefix + key, "must be an array of strings");
    out.push_back(e.value<std::string>().value());
  }
  return out;
}

bool isToken(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string("-.!%*_+`'~").find(c) != std::string::npos;
  });
}

}  // namespace

void checkLogLevel(const std::string& level, const std::string& key) {
  static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error"};
  if (!levels.count(level))
    bad(key, "'" + level + "' is not one of trace, debug, info, warn, error");
}

void setSoapListen(soap::SoapConfig& soap, const std::string& hostport, const std::string& key) {
  const auto colon = hostport.rfind(':');
  if (colon == std::string::npos || colon == 0) bad(key, "'" + hostport + "' is not HOST:PORT");
  std::string host = hostport.substr(0, colon);
  const std::string port = hostport.substr(colon + 1);
  if (host.front() == '[') {
    if (host.back() != ']') bad(key, "'" + hostport + "' has an unterminated [IPv6] host");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    bad(key, "write an IPv6 host as [" + host + "]");
  }
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) > 65535) {
    bad(key, "'" + port + "' is not a port (0-65535)");
  }
  soap.host = host;
  soap.port = static_cast<std::uint16_t>(std::stoul(port));
}

Config parseConfig(const std::string& text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream where;
    where << e.source().begin;
    throw ConfigError(source + ":" + where.str() + ": " + std::string(e.description()));
  }
  if (root.get("app_server")) {
    bad("app_server",
        "application servers cannot be configured in this version yet; "
        "SOAP requests are taken from loopback clients only");
  }
  onlyKeys(root, "", {"sip", "soap", "store", "log", "contact_me"});
  Config c;

  if (const toml::table* t = section(root, "sip")) {
    onlyKeys(*t, "sip.", {"listen", "domain", "min_expires", "max_expires", "default_expires"});
    c.sip.listen = getStrings(*t, "sip.", "listen", c.sip.listen);
    if (c.sip.listen.empty()) bad("sip.listen", "must name at least one address");
    for (const auto& spec : c.sip.listen) {
      try {
        sip::listenUrl(spec);
      } catch (const std::invalid_argument& e) {
        bad("sip.listen", e.what());
      }
    }
    auto& r = c.sip.registrar;
    r.domain = getString(*t, "sip.", "domain", r.domain);
    r.minExpires = static_cast<unsigned>(getInt(*t, "sip.", "min_expires", r.minExpires, 1, 86400));
    r.maxExpires =
        static_cast<unsigned>(getInt(*t, "sip.", "max_expires", r.maxExpires, 1, 31536000));
    r.defaultExpires =
        static_cast<unsigned>(getInt(*t, "sip.", "default_expires", r.defaultExpires, 1, 31536000));
    if (r.maxExpires < r.minExpires) bad("sip.max_expires", "must not be below sip.min_expires");
  }

  if (const toml::table* t = section(root, "contact_me")) {
    onlyKeys(*t, "contact_me.", {"packages", "notify_timeout_ms", "keep_ended_seconds"});
    c.core.packages = getStrings(*t, "contact_me.", "packages", c.core.packages);
    if (c.core.packages.empty()) bad("contact_me.packages", "must name at least one package");
    for (const auto& p : c.core.packages) {
      if (!isToken(p)) bad("contact_me.packages", "'" + p + "' is not a token");
    }
    c.sip.notifyTimeout = std::chrono::milliseconds(
        getInt(*t, "contact_me.", "notify_timeout_ms", c.sip.notifyTimeout.count(), 100, 64000));
    c.core.keepEnded = std::chrono::seconds(getInt(*t, "contact_me.", "keep_ended_seconds",
                                                   c.core.keepEnded.count(), 3600, 30 * 86400));
  }
  c.sip.registrar.packages = c.core.packages;

  if (const toml::table* t = section(root, "soap")) {
    onlyKeys(*t, "soap.",
             {"listen", "workers", "recv_timeout_ms", "send_timeout_ms", "max_body_bytes"});
    if (t->get("listen"))
      setSoapListen(c.soap, getString(*t, "soap.", "listen", ""), "soap.listen");
    c.soap.workers = static_cast<unsigned>(getInt(*t, "soap.", "workers", c.soap.workers, 1, 1024));
    c.soap.recvTimeoutMs =
        static_cast<int>(getInt(*t, "soap.", "recv_timeout_ms", c.soap.recvTimeoutMs, 100, 600000));
    c.soap.sendTimeoutMs =
        static_cast<int>(getInt(*t, "soap.", "send_timeout_ms", c.soap.sendTimeoutMs, 100, 600000));
    c.soap.maxBodyBytes = static_cast<std::size_t>(
        getInt(*t, "soap.", "max_body_bytes", static_cast<std::int64_t>(c.soap.maxBodyBytes), 1024,
               16 << 20));
  }

  if (const toml::table* t = section(root, "store")) {
    onlyKeys(*t, "store.", {"path"});
    c.storePath = getString(*t, "store.", "path", c.storePath);
  }

  if (const toml::table* t = section(root, "log")) {
    onlyKeys(*t, "log.", {"level", "format"});
    c.logLevel = getString(*t, "log.", "level", c.logLevel);
    checkLogLevel(c.logLevel, "log.level");
    c.logFormat = getString(*t, "log.", "format", c.logFormat);
    if (c.logFormat != "plain" && c.logFormat != "json") bad("log.format", "must be plain or json");
  }
  return c;
}

Config loadConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  return parseConfig(text.str(), path);
}

}  // namespace beckon::app
