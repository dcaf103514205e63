// Push notifications (RFC 8599): what the core asks of a push gateway to wake
// a device that has no live flow, and what it hears back. push/ implements
// PushSender (an HTTP client off the SIP thread); app/ wires it. The JSON a
// gateway gets is in docs/push.md.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "binding.h"

namespace beckon {

// Why a device is woken: a contact-me NOTIFY or a call (any request the
// proxy would send it) is due (RFC 8599 4.2.2), or its binding is about to
// expire and only a push makes it refresh (4.2.1: beckond offers no
// sip.pnsreg, so a woken-only device refreshes when pushed).
enum class PushReason { ContactMe, Call, Refresh };
const char* toString(PushReason r);  // "contact-me", "call", "refresh"

struct PushRequest {
  std::string id;  // unique per push: the gateway's key for logs and duplicates
  PushTarget target;
  PushReason reason = PushReason::ContactMe;
  std::string aor;
  std::string instance;  // may be empty
  std::uint64_t bindingId = 0;
  // A contact-me NOTIFY: the request and whose it is.
  std::string requestId;
  std::string appServer;
  // A call: the request's Call-ID, method and From URI (as they came: bytes).
  std::string callId;
  std::string method;
  std::string from;
};

struct PushResult {
  bool sent = false;    // the gateway took it (2xx)
  int httpStatus = 0;   // 0: no HTTP answer (no connection, timeout)
  std::string problem;  // why it was not sent, for the log and the request's delivery
};

// Sends pushes to the gateway of their provider. push() runs on the core's
// thread and never blocks on the network; `done` is called exactly once on
// the core's thread (possibly before push() returns), unless the core's
// thread stops first.
class PushSender {
 public:
  virtual ~PushSender() = default;
  virtual void push(const PushRequest& request, std::function<void(const PushResult&)> done) = 0;
};

}  // namespace beckon
