// What a device does with a contact-me request (docs/event-package.md
// section 8): which servers it calls back, in which order, over which URL;
// or why it does not. Pure: no sockets, no clock.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "body.h"

namespace beckon::ua {

// "host", "host:port", "[v6]", "[v6]:port": checked strictly (a name, an
// IPv4 or a bracketed IPv6 address, digits for the port), because the
// value goes into a URL and must not be able to name another host there.
struct HostPort {
  std::string host;  // as written; IPv6 with its brackets
  std::string port;  // empty when not given
};
std::optional<HostPort> parseHostPort(const std::string& text);

// The device's trusted application servers: HOST[:PORT] patterns as
// --trust takes them. HOST is a name, an address, "*.suffix" or "*"; PORT a
// number or "*"; no PORT means any port.
class TrustList {
 public:
  // Throws std::invalid_argument naming a malformed pattern.
  explicit TrustList(const std::vector<std::string>& patterns);
  // `hostport` with its effective port (the protocol's default when the
  // request gave none).
  bool trusts(const HostPort& server, const std::string& effectivePort) const;
  bool empty() const { return patterns_.empty(); }

 private:
  std::vector<std::string> patterns_;  // normalised "host:port" for callbackAllowed()
};

struct CallbackTarget {
  std::string hostport;  // as the NOTIFY named it (or the configured default)
  std::string url;       // protocol://hostport/path
};

struct CallbackPlan {
  std::string requestId;
  std::string function;
  std::string protocol;
  std::vector<CallbackTarget> targets;           // server first, then trusted alt-servers in order
  std::vector<std::string> untrustedAlternates;  // alt-servers left out
  std::string refused;                           // non-empty: the request is not acted on, and why
};

struct CallbackDefaults {
  std::string server;    // --default-server: used when the NOTIFY names none
  std::string protocol;  // --default-protocol: used when the NOTIFY names none
};

// The protocol's default port: "80" for http, "443" for https, "" otherwise.
std::string defaultPort(const std::string& protocol);

// For a `state: pending` body. A server the device does not trust refuses the
// whole request (the device is not steered elsewhere); an untrusted
// alt-server is only left out.
CallbackPlan planCallback(const NotifyContent& content, const TrustList& trust,
                          const CallbackDefaults& defaults);

}  // namespace beckon::ua
