#include "callback_plan.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "policy.h"

namespace beckon::ua {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool validPort(const std::string& p) {
  if (p.empty() || p.size() > 5) return false;
  if (!std::all_of(p.begin(), p.end(), [](unsigned char c) { return std::isdigit(c); }))
    return false;
  const unsigned long n = std::stoul(p);
  return n >= 1 && n <= 65535;
}

// A host name or IPv4 address: letters, digits, '-' and '.', nothing that
// could end the authority of a URL ('/', '?', '#', '@') or hide in it.
bool validName(const std::string& h) {
  return !h.empty() && h.size() <= 255 && h.front() != '.' && h.front() != '-' &&
         std::all_of(h.begin(), h.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '.'; });
}

bool validV6(const std::string& inner) {
  return !inner.empty() && inner.size() <= 45 && inner.find(':') != std::string::npos &&
         std::all_of(inner.begin(), inner.end(),
                     [](unsigned char c) { return std::isxdigit(c) || c == ':' || c == '.'; });
}

}  // namespace

std::optional<HostPort> parseHostPort(const std::string& text) {
  HostPort hp;
  std::string rest;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || !validV6(text.substr(1, close - 1))) return std::nullopt;
    hp.host = text.substr(0, close + 1);
    rest = text.substr(close + 1);
  } else {
    const auto colon = text.find(':');
    hp.host = text.substr(0, colon);
    if (!validName(hp.host)) return std::nullopt;
    rest = colon == std::string::npos ? "" : text.substr(colon);
  }
  if (rest.empty()) return hp;
  if (rest.front() != ':' || !validPort(rest.substr(1))) return std::nullopt;
  hp.port = rest.substr(1);
  return hp;
}

TrustList::TrustList(const std::vector<std::string>& patterns) {
  for (const auto& p : patterns) {
    if (p == "*") {
      patterns_.push_back("*:*");
      continue;
    }
    std::string host = p, port = "*";
    const auto close = p.find(']');
    const auto colon = p.rfind(':');
    const bool bracketed = !p.empty() && p.front() == '[';
    if (colon != std::string::npos &&
        (!bracketed || (close != std::string::npos && colon > close))) {
      host = p.substr(0, colon);
      port = p.substr(colon + 1);
    }
    const bool hostOk =
        host == "*" || (host.rfind("*.", 0) == 0 && validName(host.substr(2))) ||
        (bracketed && close == host.size() - 1 && validV6(host.substr(1, host.size() - 2))) ||
        validName(host);
    if (!hostOk || (port != "*" && !validPort(port)))
      throw std::invalid_argument("--trust: '" + p + "' is not HOST[:PORT]");
    patterns_.push_back(lower(host) + ":" + port);
  }
}

bool TrustList::trusts(const HostPort& server, const std::string& effectivePort) const {
  const std::string hp = effectivePort.empty() ? server.host : server.host + ":" + effectivePort;
  return callbackAllowed(patterns_, hp);
}

std::string defaultPort(const std::string& protocol) {
  const std::string p = lower(protocol);
  if (p == "http") return "80";
  if (p == "https") return "443";
  return "";
}

CallbackPlan planCallback(const NotifyContent& content, const TrustList& trust,
                          const CallbackDefaults& defaults) {
  CallbackPlan plan;
  plan.requestId = content.requestId;
  plan.function = content.function;
  plan.protocol = lower(content.protocol.empty() ? defaults.protocol : content.protocol);
  if (plan.protocol != "http" && plan.protocol != "https") {
    plan.refused = plan.protocol.empty() ? "no protocol in the NOTIFY and no --default-protocol"
                                         : "protocol '" + plan.protocol + "' is not supported";
    return plan;
  }
  const std::string path = content.path.empty() ? "/" : content.path;
  if (path.front() != '/') {
    plan.refused = "path '" + path + "' is not absolute";
    return plan;
  }
  auto url = [&](const std::string& hostport) { return plan.protocol + "://" + hostport + path; };

  if (content.server.empty()) {
    if (defaults.server.empty()) {
      plan.refused = "no server in the NOTIFY and no --default-server";
      return plan;
    }
    plan.targets.push_back({defaults.server, url(defaults.server)});  // configured: trusted
  } else {
    const auto hp = parseHostPort(content.server);
    if (!hp) {
      plan.refused = "server '" + content.server + "' is not a host[:port]";
      return plan;
    }
    if (!trust.trusts(*hp, hp->port.empty() ? defaultPort(plan.protocol) : hp->port)) {
      plan.refused = "server " + content.server + " is not trusted";
      return plan;
    }
    plan.targets.push_back({content.server, url(content.server)});
  }
  for (const auto& alt : content.altServers) {
    const auto hp = parseHostPort(alt);
    if (hp && trust.trusts(*hp, hp->port.empty() ? defaultPort(plan.protocol) : hp->port)) {
      plan.targets.push_back({alt, url(alt)});
    } else {
      plan.untrustedAlternates.push_back(alt);
    }
  }
  return plan;
}

}  // namespace beckon::ua
