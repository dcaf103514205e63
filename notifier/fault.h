// The faults of the SOAP API (contract: "Faults"), raised by the core and
// turned into SOAP Faults by soap/.
#pragma once

#include <stdexcept>
#include <string>

namespace beckon {

enum class FaultCode {
  UnknownDevice,      // no binding and queueSeconds 0
  NotAuthorized,      // caller unknown or outside its rights
  InvalidArgument,    // message names the field
  RequestIdConflict,  // same requestId, different content
  Overloaded,         // rate limit or queue full; retry later
  Unavailable,        // beckond cannot serve now (shutting down, core not running)
};

const char* toString(FaultCode code);

class Fault : public std::runtime_error {
 public:
  Fault(FaultCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  FaultCode code() const { return code_; }
  // SOAP 1.1 "Client"/1.2 "Sender" faults: the caller has to change something.
  bool senderFault() const {
    return code_ == FaultCode::InvalidArgument || code_ == FaultCode::NotAuthorized ||
           code_ == FaultCode::RequestIdConflict || code_ == FaultCode::UnknownDevice;
  }

 private:
  FaultCode code_;
};

}  // namespace beckon
