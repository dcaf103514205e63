// [push] and its [[push.provider]]s (RFC 8599 push notifications; see
// docs/push.md and docs/configuration.md).
#include <strings.h>

#include <algorithm>

#include "config_read.h"

namespace beckon::app {

namespace {

// "Name: value", a header line libcurl sends as it is: a token, a colon,
// and no CR, LF or other control character anywhere.
void checkHeaderLine(const std::string& key, const std::string& line) {
  const auto colon = line.find(':');
  if (colon == std::string::npos || !isToken(line.substr(0, colon)))
    bad(key, "'" + line + "' is not a header line (Name: value)");
  if (std::any_of(line.begin(), line.end(),
                  [](unsigned char ch) { return (ch < 0x20 && ch != '\t') || ch == 0x7f; })) {
    bad(key, "a header line must not contain control characters");
  }
}

push::Provider parseProvider(const toml::table& t, std::size_t index,
                             const push::GatewayConfig& gateway, std::chrono::milliseconds timeout,
                             std::chrono::milliseconds wait) {
  const std::string at = "push.provider[" + std::to_string(index) + "].";
  onlyKeys(t, at, {"name", "url", "timeout_ms", "wait_ms", "headers", "basic_auth"});
  push::Provider p;
  p.name = getString(t, at, "name", "");
  if (!isToken(p.name)) bad(at + "name", "required, a token (the pn-provider value devices use)");
  for (const auto& other : gateway.providers) {
    if (strcasecmp(other.name.c_str(), p.name.c_str()) == 0)
      bad(at + "name", "'" + p.name + "' is used twice");
  }
  const std::string q = "push.provider." + p.name + ".";
  p.url = getString(t, q, "url", "");
  if (p.url.rfind("http://", 0) != 0 && p.url.rfind("https://", 0) != 0)
    bad(q + "url", "required, an http:// or https:// URL (the push gateway's endpoint)");
  p.timeout = std::chrono::milliseconds(getInt(t, q, "timeout_ms", timeout.count(), 100, 60000));
  p.wait = std::chrono::milliseconds(getInt(t, q, "wait_ms", wait.count(), 1000, 300000));
  p.headers = getStrings(t, q, "headers", {});
  for (const auto& line : p.headers)
    checkHeaderLine(q + "headers", line);
  if (const toml::table* basic = sectionOf(t, q, "basic_auth")) {
    const std::string b = q + "basic_auth.";
    onlyKeys(*basic, b, {"user", "password"});
    p.basicUser = getString(*basic, b, "user", "");
    p.basicPassword = getString(*basic, b, "password", "");
    if (p.basicUser.empty()) bad(b + "user", "required");
    if (p.basicUser.find(':') != std::string::npos) bad(b + "user", "must not contain ':'");
  }
  return p;
}

}  // namespace

void parsePush(const toml::table& t, Config& c) {
  const std::string p = "push.";
  onlyKeys(t, p, {"wait_ms", "timeout_ms", "ca", "queue_limit", "refresh_before_s", "provider"});
  push::GatewayConfig& g = c.push;
  const auto wait = std::chrono::milliseconds(getInt(t, p, "wait_ms", 30000, 1000, 300000));
  const auto timeout = std::chrono::milliseconds(getInt(t, p, "timeout_ms", 5000, 100, 60000));
  g.caFile = caFile(t, p, "ca");
  g.queueLimit = static_cast<std::size_t>(
      getInt(t, p, "queue_limit", static_cast<std::int64_t>(g.queueLimit), 1, 10000000));
  g.refreshBefore =
      std::chrono::seconds(getInt(t, p, "refresh_before_s", g.refreshBefore.count(), 0, 86400));
  const toml::node* n = t.get("provider");
  if (!n) bad(p + "provider", "at least one [[push.provider]] is required");
  if (!n->is_array_of_tables())
    bad(p + "provider", "must be an array of tables ([[push.provider]])");
  std::size_t i = 0;
  for (const toml::node& e : *n->as_array())
    g.providers.push_back(parseProvider(*e.as_table(), i++, g, timeout, wait));
  c.sip.registrar.pushProviders.clear();
  for (const auto& provider : g.providers)
    c.sip.registrar.pushProviders.push_back(provider.name);
}

}  // namespace beckon::app
