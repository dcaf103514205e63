// What the core needs from the outside, implemented by sip/ and wired in app/.
#pragma once

#include <functional>
#include <string>

#include "binding.h"

namespace beckon {

struct OutgoingNotify {
  std::string package;            // Event
  std::string subscriptionState;  // "active;expires=3541"
  std::string contentType;
  std::string body;
  std::string requestId;  // for logs
};

struct NotifyOutcome {
  int status = 0;  // SIP status of the final response (408 on timeout, 503 on transport error)
  std::string reason;
  bool flowClosed = false;  // the binding's own connection is gone (RFC 5626: a dead flow)
};

// Sends NOTIFYs to bindings over their own flows. Runs on the core's thread;
// `done` is called exactly once on that thread, possibly before send() returns.
class NotifySender {
 public:
  virtual ~NotifySender() = default;
  virtual void send(const Binding& binding, const OutgoingNotify& notify,
                    std::function<void(const NotifyOutcome&)> done) = 0;
};

// A device became reachable for a package: a binding subscribed to it
// appeared where none was (contract: "Registration notice").
struct DeviceNotice {
  std::string deviceId;  // the instance id, or the address of record without one
  std::string aor;
  std::string instance;
  std::string package;
  TimePoint at;
};

// Receives notices on the core's thread; must hand them off, never block.
class NoticeSink {
 public:
  virtual ~NoticeSink() = default;
  virtual void deviceRegistered(const DeviceNotice& notice) = 0;
};

// Runs work on the core's thread (the SIP thread). Callable from any thread;
// false when the work cannot be queued (the core is not running).
class Executor {
 public:
  virtual ~Executor() = default;
  virtual bool post(std::function<void()> work) = 0;
};

}  // namespace beckon
