// Who may do what (contract: "Who may do what"): the rights of each
// application server and contact triggering server, and the checks that
// apply them before anything is sent. How a caller proves who it is (HTTP
// Basic, TLS client certificate) is soap/'s business; this is what follows.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "contact_request.h"

namespace beckon {

struct AppServerRights {
  std::string name;
  std::vector<std::string> packages;         // packages it may use
  std::vector<std::string> callbackServers;  // "host:port" patterns; "*" as port, "*." host prefix
  std::vector<std::string> actsFor;          // application servers it may act for (onBehalfOf)
  bool mayQueryDevices = false;              // GetDevice
  double requestsPerSecond = 0;              // 0: no limit
  std::string noticeUrl;                     // where DeviceRegistered goes, if anywhere
};

// Does `hostport` (as in a request: host, host:port, [v6]:port) match one of
// the patterns? A request without a port matches only patterns with port "*".
bool callbackAllowed(const std::vector<std::string>& patterns, const std::string& hostport);

// A token bucket per application server: `rate` a second, bursts of up to
// max(1, rate). Thread-safe.
class RateLimiter {
 public:
  bool allow(const std::string& who, double rate, std::chrono::steady_clock::time_point now);

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
  };
  std::mutex mutex_;
  std::map<std::string, Bucket> buckets_;
};

// Thread-safe: SOAP workers check calls while SIGHUP may replace the rights.
class Policy {
 public:
  // No application servers: every (loopback) caller is the one server
  // "local" with every package and every callback server.
  explicit Policy(std::vector<AppServerRights> servers, std::vector<std::string> allPackages);

  // SIGHUP: the application servers and their rights from now on. A check
  // already running finishes with the rights it started with; rate buckets
  // are kept (a new rate applies from the next call).
  void replace(std::vector<AppServerRights> servers);

  bool open() const;
  // A copy: a reload may replace the rights at any time.
  std::optional<AppServerRights> find(const std::string& name) const;

  // The application server a ContactMe / GetContactRequest / Cancel acts as:
  // the caller itself, or the one named in onBehalfOf when the caller may act
  // for it. Throws Fault(NotAuthorized).
  AppServerRights actingAs(const std::string& caller, const std::string& onBehalfOf) const;
  // Throws Fault(NotAuthorized) when `as` may not ask for this request.
  void checkContactMe(const AppServerRights& as, const ContactMeParams& p) const;
  void checkGetDevice(const std::string& caller) const;
  // Throws Fault(Overloaded) when the caller is over its rate.
  void checkRate(const std::string& caller);

 private:
  struct Rights {
    std::vector<AppServerRights> servers;
    AppServerRights local;
    const AppServerRights* find(const std::string& name) const;
  };
  std::shared_ptr<const Rights> current() const;

  const std::vector<std::string> allPackages_;
  mutable std::mutex mutex_;  // guards rights_ (the pointer, not what it points to)
  std::shared_ptr<const Rights> rights_;
  RateLimiter rates_;
};

}  // namespace beckon
