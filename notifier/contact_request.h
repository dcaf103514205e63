// Contact requests: what an application server asked for, and what became of
// it (contract: "The SOAP API"). State machine:
//   queued -> notifying -> delivered | failed | expired | cancelled
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "binding.h"
#include "clock.h"

namespace beckon {

inline constexpr const char* kDefaultPackage = "application-server-contact-me";
inline constexpr std::uint32_t kDefaultWaitMs = 2000;
inline constexpr std::uint32_t kMaxWaitMs = 30000;
inline constexpr std::size_t kMaxAlternateServers = 8;
inline constexpr std::uint32_t kMaxQueueSeconds = 7 * 24 * 3600;

enum class RequestState { Queued, Notifying, Delivered, Failed, Expired, Cancelled };
const char* toString(RequestState s);
inline bool isFinal(RequestState s) {
  return s == RequestState::Delivered || s == RequestState::Failed || s == RequestState::Expired ||
         s == RequestState::Cancelled;
}

// ContactMe's fields, as the application server sent them.
struct ContactMeParams {
  std::string deviceId;
  std::string requestId;
  std::string server;
  std::optional<std::uint16_t> port;
  std::string protocol;
  std::string path;
  std::vector<std::string> alternateServers;
  std::string function;
  std::string timeSlot;
  std::string package;  // empty: the default package
  std::uint32_t queueSeconds = 0;
  std::uint32_t waitMs = kDefaultWaitMs;
  std::string onBehalfOf;

  // Same content for idempotency: every field but waitMs (how long this one
  // call waits does not change what is asked).
  bool sameContent(const ContactMeParams& o) const;
};

// Who is asking: the application server a request belongs to.
struct Caller {
  std::string name;  // application server name ("local" for loopback clients without configuration)
};

// One NOTIFY attempt to one binding.
struct Delivery {
  std::uint64_t bindingId = 0;
  std::string contact;
  Transport transport = Transport::Udp;
  int sipStatus = 0;  // 0 while none came
  std::string reason;
  TimePoint at;
  bool inFlight = false;
};

struct ContactStatus {
  std::string requestId;
  RequestState state = RequestState::Queued;
  std::vector<Delivery> deliveries;
  // True once the state is final and no NOTIFY is in flight any more: a
  // waiting ContactMe call answers then.
  bool settled = false;
};

// Throws Fault(InvalidArgument) naming the first field that breaks the
// contract; `package` must be one of `packages` once defaulted.
void validate(const ContactMeParams& p, const std::vector<std::string>& packages);

// The `server` line: the request's server, with its port when given apart.
std::string serverLine(const ContactMeParams& p);

}  // namespace beckon
