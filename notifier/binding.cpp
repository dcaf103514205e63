#include "binding.h"

namespace beckon {

const char* toString(Transport t) {
  switch (t) {
    case Transport::Udp:
      return "udp";
    case Transport::Tcp:
      return "tcp";
    case Transport::Tls:
      return "tls";
  }
  return "?";
}

const PackageSubscription* Binding::subscription(const std::string& package) const {
  for (const auto& s : packages) {
    if (s.package == package) return &s;
  }
  return nullptr;
}

std::string Binding::sourceHostPort() const {
  const bool v6 = sourceHost.find(':') != std::string::npos;
  return (v6 ? "[" + sourceHost + "]" : sourceHost) + ":" + std::to_string(sourcePort);
}

}  // namespace beckon
