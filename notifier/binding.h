// A binding: one registered Contact of an address of record (RFC 3261 10.3),
// with what the core needs to reach the device behind NAT.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "clock.h"

namespace beckon {

enum class Transport { Udp, Tcp, Tls };
const char* toString(Transport t);

// The body format a device asked for in its Accept header.
enum class BodyFormat { Text, Xml };

// The connection a device is reached over (its TCP/TLS connection, or its UDP
// source address). sip/ implements it; the core only carries it to the sender.
class Flow {
 public:
  virtual ~Flow() = default;
  // Known to be gone (its connection closed): nothing reaches the device over it.
  virtual bool closed() const { return false; }
};

// The dialog of an explicit subscription (RFC 6665), for NOTIFYs inside it.
// sip/ implements it.
class Dialog {
 public:
  virtual ~Dialog() = default;
};

// A package a binding is subscribed to, and how.
struct PackageSubscription {
  std::string package;
  BodyFormat format = BodyFormat::Text;
  bool implicit = true;  // by REGISTER + Accept; false: by SUBSCRIBE
};

// An explicit subscription's dialog as RFC 3261 12.1.1 defines it, kept so
// that the dialog can be rebuilt after a restart (the dialog id holds the
// Call-ID and both tags).
struct DialogState {
  std::string local;                  // our URI with our tag (the SUBSCRIBE's To)
  std::string remote;                 // the subscriber's URI with its tag (its From)
  std::string target;                 // the remote target: its Contact URI
  std::vector<std::string> routeSet;  // its Record-Route, in order ("<sip:...;lr>")
  std::uint32_t localCseq = 0;        // our CSeq when last saved (NOTIFYs since are above it)
};

// RFC 8599 4.1.1: how a device is woken through a push notification service
// (its Contact URI's pn-provider, pn-prid and pn-param), when it has no live
// flow. Empty when it registered without them (or only asked which services
// beckond supports: pn-provider without pn-prid, 4.1.2).
struct PushTarget {
  std::string provider;  // as configured ([[push.provider]] name)
  std::string prid;      // unescaped
  std::string param;     // unescaped; may be empty
  bool empty() const { return provider.empty() || prid.empty(); }
  bool operator==(const PushTarget&) const = default;
};

struct Binding {
  std::uint64_t id = 0;       // given by the table
  std::uint64_t updated = 0;  // given by the table: higher is more recently registered or refreshed
  std::string aor;            // normalised, "sip:user@host"
  std::string contact;        // the Contact URI as registered
  std::string instance;       // normalised +sip.instance, or empty
  std::string regId;          // RFC 5626 reg-id: with the instance, the flow's key
  std::string tempGruu;       // RFC 5627 temporary GRUU's user part ("tgruu.<hex>"), or empty
  std::string mac;            // normalised; the table fills it from the instance id
  Transport transport = Transport::Udp;
  std::string sourceHost;  // where the REGISTER really came from
  std::uint16_t sourcePort = 0;
  // The listening socket the REGISTER came in on ("l0", ...): a UDP binding
  // is reached from it again after a restart.
  std::string listener;
  TimePoint expires;
  std::vector<std::string> path;  // RFC 3327 Path, as route set toward the device ("<sip:...;lr>")
  std::string callId;             // of the REGISTER that made or last refreshed it
  std::uint32_t cseq = 0;
  float q = 1.0f;
  std::vector<PackageSubscription> packages;
  std::shared_ptr<Flow> flow;
  PushTarget push;
  // Its flow is dead (the connection closed): not tried until it registers again.
  bool unreachable = false;
  // Explicit subscriptions only: "Call-ID;remote-tag;local-tag", and the dialog.
  // Such a binding is the subscription; it is not a registration.
  std::string dialogId;
  DialogState dialogState;
  std::shared_ptr<Dialog> dialog;

  const PackageSubscription* subscription(const std::string& package) const;
  bool explicitSubscription() const { return !dialogId.empty(); }
  // One device, however many bindings and subscriptions it has: its instance
  // id, or without one its Contact URI.
  const std::string& deviceIdentity() const { return instance.empty() ? contact : instance; }
  std::string sourceHostPort() const;
};

}  // namespace beckon
