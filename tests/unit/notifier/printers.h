// Lets Boost.Test print the core's enums in failure messages.
#pragma once

#include <ostream>

#include "contact_request.h"
#include "device_id.h"
#include "fault.h"

namespace beckon {
inline std::ostream& operator<<(std::ostream& o, RequestState s) {
  return o << toString(s);
}
inline std::ostream& operator<<(std::ostream& o, FaultCode c) {
  return o << toString(c);
}
inline std::ostream& operator<<(std::ostream& o, DeviceIdKind k) {
  return o << toString(k);
}
inline std::ostream& operator<<(std::ostream& o, const DeviceKey& k) {
  return o << k.kind << ":" << k.value;
}
}  // namespace beckon
