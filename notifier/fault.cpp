#include "fault.h"

namespace beckon {

const char* toString(FaultCode code) {
  switch (code) {
    case FaultCode::UnknownDevice:
      return "UnknownDevice";
    case FaultCode::NotAuthorized:
      return "NotAuthorized";
    case FaultCode::InvalidArgument:
      return "InvalidArgument";
    case FaultCode::RequestIdConflict:
      return "RequestIdConflict";
    case FaultCode::Overloaded:
      return "Overloaded";
    case FaultCode::Unavailable:
      return "Unavailable";
  }
  return "Unavailable";
}

}  // namespace beckon
