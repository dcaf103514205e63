#include "policy.h"

#include <algorithm>
#include <cctype>

#include "fault.h"

namespace beckon {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// "host:port" / "[v6]:port" / "host" -> (host, port or "").
std::pair<std::string, std::string> splitHostport(const std::string& hp) {
  if (!hp.empty() && hp.front() == '[') {
    const auto close = hp.find(']');
    if (close == std::string::npos) return {hp, ""};
    const std::string port =
        close + 1 < hp.size() && hp[close + 1] == ':' ? hp.substr(close + 2) : "";
    return {lower(hp.substr(0, close + 1)), port};
  }
  const auto colon = hp.rfind(':');
  if (colon == std::string::npos) return {lower(hp), ""};
  return {lower(hp.substr(0, colon)), hp.substr(colon + 1)};
}

bool hostMatches(const std::string& pattern, const std::string& host) {
  if (pattern == "*") return true;
  if (pattern.rfind("*.", 0) == 0) {
    const std::string suffix = pattern.substr(1);  // ".example.com"
    return host.size() > suffix.size() &&
           host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0;
  }
  return pattern == host;
}

}  // namespace

bool callbackAllowed(const std::vector<std::string>& patterns, const std::string& hostport) {
  const auto [host, port] = splitHostport(hostport);
  return std::any_of(patterns.begin(), patterns.end(),
                     [&, &host = host, &port = port](const std::string& p) {
                       const auto [phost, pport] = splitHostport(p);
                       const bool portOk = pport == "*" || (!port.empty() && pport == port);
                       return portOk && hostMatches(phost, host);
                     });
}

bool RateLimiter::allow(const std::string& who, double rate,
                        std::chrono::steady_clock::time_point now) {
  if (rate <= 0) return true;
  const double burst = std::max(1.0, rate);
  std::lock_guard lock(mutex_);
  auto [it, fresh] = buckets_.try_emplace(who, Bucket{burst, now});
  Bucket& b = it->second;
  if (!fresh) {
    const double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(burst, b.tokens + elapsed * rate);
    b.last = now;
  }
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

Policy::Policy(std::vector<AppServerRights> servers, std::vector<std::string> allPackages)
    : allPackages_(std::move(allPackages)) {
  replace(std::move(servers));
}

void Policy::replace(std::vector<AppServerRights> servers) {
  auto rights = std::make_shared<Rights>();
  rights->servers = std::move(servers);
  rights->local.name = "local";
  rights->local.packages = allPackages_;
  rights->local.callbackServers = {"*:*"};
  rights->local.mayQueryDevices = true;
  std::lock_guard lock(mutex_);
  rights_ = std::move(rights);
}

std::shared_ptr<const Policy::Rights> Policy::current() const {
  std::lock_guard lock(mutex_);
  return rights_;
}

const AppServerRights* Policy::Rights::find(const std::string& name) const {
  if (servers.empty()) return name == local.name ? &local : nullptr;
  for (const auto& s : servers) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

bool Policy::open() const {
  return current()->servers.empty();
}

std::optional<AppServerRights> Policy::find(const std::string& name) const {
  const auto rights = current();
  const AppServerRights* found = rights->find(name);
  if (!found) return std::nullopt;
  return *found;
}

AppServerRights Policy::actingAs(const std::string& caller, const std::string& onBehalfOf) const {
  const auto rights = current();
  const AppServerRights* self = rights->find(caller);
  if (!self)
    throw Fault(FaultCode::NotAuthorized, "'" + caller + "' is not a known application server");
  if (onBehalfOf.empty() || onBehalfOf == caller) return *self;
  if (std::find(self->actsFor.begin(), self->actsFor.end(), onBehalfOf) == self->actsFor.end()) {
    throw Fault(FaultCode::NotAuthorized,
                "onBehalfOf: '" + caller + "' may not act for '" + onBehalfOf + "'");
  }
  const AppServerRights* other = rights->find(onBehalfOf);
  if (!other)
    throw Fault(FaultCode::NotAuthorized,
                "onBehalfOf: '" + onBehalfOf + "' is not a known application server");
  return *other;
}

void Policy::checkContactMe(const AppServerRights& as, const ContactMeParams& p) const {
  const std::string package = p.package.empty() ? kDefaultPackage : p.package;
  if (std::find(as.packages.begin(), as.packages.end(), package) == as.packages.end()) {
    throw Fault(FaultCode::NotAuthorized, "package: '" + as.name + "' may not use " + package);
  }
  if (!p.server.empty() && !callbackAllowed(as.callbackServers, serverLine(p))) {
    throw Fault(FaultCode::NotAuthorized,
                "server: '" + as.name + "' may not name " + serverLine(p));
  }
  for (const auto& alt : p.alternateServers) {
    if (!callbackAllowed(as.callbackServers, alt)) {
      throw Fault(FaultCode::NotAuthorized,
                  "alternateServer: '" + as.name + "' may not name " + alt);
    }
  }
}

void Policy::checkGetDevice(const std::string& caller) const {
  const auto rights = current();
  const AppServerRights* self = rights->find(caller);
  if (!self || !self->mayQueryDevices) {
    throw Fault(FaultCode::NotAuthorized, "'" + caller + "' may not query devices");
  }
}

void Policy::checkRate(const std::string& caller) {
  const auto rights = current();
  const AppServerRights* self = rights->find(caller);
  if (self && !rates_.allow(caller, self->requestsPerSecond, std::chrono::steady_clock::now())) {
    throw Fault(FaultCode::Overloaded, "'" + caller + "' is over its request rate; retry later");
  }
}

}  // namespace beckon
