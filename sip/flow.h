// The flow a binding is reached over (RFC 5626 3.5 in spirit): for TCP and
// TLS, the very connection its REGISTER came in on; for UDP, the address and
// port the REGISTER came from (RFC 3581).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_set>

#include "binding.h"
#include "sofia.h"

namespace beckon::sip {

class FlowRegistry;

class SipFlow final : public Flow {
 public:
  // Takes a reference of `connection` (a secondary tport), or none for UDP.
  SipFlow(FlowRegistry& registry, tport_t* connection);
  ~SipFlow() override;
  SipFlow(const SipFlow&) = delete;
  SipFlow& operator=(const SipFlow&) = delete;

  tport_t* connection() const { return connection_; }
  void release();  // drops the connection reference (agent shutting down)

 private:
  FlowRegistry& registry_;
  tport_t* connection_;
};

// Knows every live flow so that the SIP thread can release their transport
// references before the agent goes, whoever still holds the flows.
class FlowRegistry {
 public:
  void add(SipFlow* f) { flows_.insert(f); }
  void erase(SipFlow* f) { flows_.erase(f); }
  void releaseAll() {
    for (SipFlow* f : flows_)
      f->release();
  }

 private:
  std::unordered_set<SipFlow*> flows_;
};

}  // namespace beckon::sip
