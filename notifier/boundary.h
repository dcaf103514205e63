// Where a thread enters our code (a Sofia callback, a job posted to the SIP
// thread, a timer, a SOAP request, a store commit, a push or a notice sent)
// is a boundary: an exception of any kind ends there. It is logged once,
// with the keys of what was being handled, counted in
// beckon_exceptions_caught_total{thread,where}, and the thread goes on; the
// caller answers what it was handling (500, a SOAP Fault) where there is an
// answer to give.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <utility>

namespace beckon {

enum class Boundary {
  SipRequest,   // a request from the wire (sip thread)
  SipResponse,  // a response to one of our transactions
  SipTimer,     // a timer of the core, the proxy or the NOTIFY sender
  SipJob,       // work posted to the SIP thread by another thread
  SoapRequest,  // one SOAP/HTTP request (soap workers)
  Notice,       // a registration notice to an application server
  StoreCommit,  // one group commit (store writer)
  StoreEncode,  // one write that could not be encoded: refused, never acknowledged
  Push,         // a push to a gateway (push worker)
};
inline constexpr std::size_t kBoundaries = static_cast<std::size_t>(Boundary::Push) + 1;

struct BoundaryName {
  const char* thread;
  const char* where;
};
BoundaryName nameOf(Boundary b);

// Exceptions caught at each boundary since the process started.
std::uint64_t caughtAt(Boundary b);

// Logs and counts the exception in flight (call it from a catch block).
// `keys` is appended to the log line: "call_id=... method=...".
void reportCaught(Boundary b, std::string_view keys = {}) noexcept;

// Runs f(); an exception ends here (reported with keys()). True when f()
// returned, false when it threw.
template <class F, class Keys>
bool guarded(Boundary b, F&& f, Keys&& keys) noexcept {
  try {
    std::forward<F>(f)();
    return true;
  } catch (...) {
    try {
      reportCaught(b, keys());
    } catch (...) {  // the keys could not be made: the line goes without them
      reportCaught(b);
    }
    return false;
  }
}

template <class F>
bool guarded(Boundary b, F&& f) noexcept {
  return guarded(b, std::forward<F>(f), [] { return std::string(); });
}

}  // namespace beckon
