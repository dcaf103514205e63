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
};

// A package a binding is subscribed to, and how.
struct PackageSubscription {
  std::string package;
  BodyFormat format = BodyFormat::Text;
  bool implicit = true;  // by REGISTER + Accept (explicit SUBSCRIBE comes later)
};

struct Binding {
  std::uint64_t id = 0;  // given by the table
  std::string aor;       // normalised, "sip:user@host"
  std::string contact;   // the Contact URI as registered
  std::string instance;  // normalised +sip.instance, or empty
  std::string mac;       // normalised; the table fills it from the instance id
  Transport transport = Transport::Udp;
  std::string sourceHost;  // where the REGISTER really came from
  std::uint16_t sourcePort = 0;
  TimePoint expires;
  std::string callId;  // of the REGISTER that made or last refreshed it
  std::uint32_t cseq = 0;
  float q = 1.0f;
  std::vector<PackageSubscription> packages;
  std::shared_ptr<Flow> flow;

  const PackageSubscription* subscription(const std::string& package) const;
  std::string sourceHostPort() const;
};

}  // namespace beckon
