#include "mapping.h"

#include <chrono>
#include <cstring>

namespace beckon::soap {

namespace {

std::string valueOr(const std::string* s) {
  return s ? *s : std::string();
}

SOAP_ENV__Detail* detailOf(struct ::soap* soap) {
  soap_faultdetail(soap);  // allocates the Detail of the fault for this SOAP version
  if (!soap->fault) return nullptr;
  return soap->version == 2 ? soap->fault->SOAP_ENV__Detail : soap->fault->detail;
}

std::string* optionalText(struct ::soap* soap, const std::string& value) {
  if (value.empty()) return nullptr;
  std::string* s = soap_new_std__string(soap);
  if (s) *s = value;
  return s;
}

void putDetail(struct ::soap* soap, cm__FaultCode code, const std::string& message) {
  SOAP_ENV__Detail* detail = detailOf(soap);
  if (!detail) return;
  _cm__fault* f = soap_new__cm__fault(soap);
  if (!f) return;
  f->code = code;
  f->message = message;
  detail->cm__fault = f;
}

}  // namespace

ContactMeParams toParams(const _cm__ContactMe& r) {
  ContactMeParams p;
  p.deviceId = r.deviceId;
  p.requestId = r.requestId;
  p.server = valueOr(r.server);
  if (r.port) p.port = *r.port;
  p.protocol = valueOr(r.protocol);
  p.path = valueOr(r.path);
  p.alternateServers = r.alternateServer;
  p.function = valueOr(r.function);
  p.timeSlot = valueOr(r.timeSlot);
  p.package = valueOr(r.package);
  if (r.queueSeconds) p.queueSeconds = *r.queueSeconds;
  if (r.waitMs) p.waitMs = *r.waitMs;
  p.onBehalfOf = valueOr(r.onBehalfOf);
  return p;
}

cm__RequestState toWire(RequestState state) {
  switch (state) {
    case RequestState::Queued:
      return cm__RequestState::queued;
    case RequestState::Notifying:
      return cm__RequestState::notifying;
    case RequestState::Delivered:
      return cm__RequestState::delivered;
    case RequestState::Failed:
      return cm__RequestState::failed;
    case RequestState::Expired:
      return cm__RequestState::expired;
    case RequestState::Cancelled:
      return cm__RequestState::cancelled;
  }
  return cm__RequestState::failed;
}

cm__FaultCode toWire(FaultCode code) {
  switch (code) {
    case FaultCode::UnknownDevice:
      return cm__FaultCode::UnknownDevice;
    case FaultCode::NotAuthorized:
      return cm__FaultCode::NotAuthorized;
    case FaultCode::InvalidArgument:
      return cm__FaultCode::InvalidArgument;
    case FaultCode::RequestIdConflict:
      return cm__FaultCode::RequestIdConflict;
    case FaultCode::Overloaded:
      return cm__FaultCode::Overloaded;
    case FaultCode::Unavailable:
      return cm__FaultCode::Unavailable;
  }
  return cm__FaultCode::Unavailable;
}

void toWire(struct ::soap* /*soap*/, const ContactStatus& status, cm__ContactStatus& out) {
  out.requestId = status.requestId;
  out.state = toWire(status.state);
  out.delivery.clear();
  out.delivery.reserve(status.deliveries.size());
  for (const Delivery& d : status.deliveries) {
    cm__Delivery w;
    w.contact = d.contact;
    w.transport = toString(d.transport);
    w.sipStatus = d.sipStatus;
    w.reason = d.reason;
    w.at = std::chrono::system_clock::to_time_t(d.at);
    out.delivery.push_back(std::move(w));
  }
}

void toWire(struct ::soap* soap, const std::string& deviceId, const std::vector<Binding>& bindings,
            cm__Device& out) {
  out.deviceId = deviceId;
  out.binding.clear();
  out.binding.reserve(bindings.size());
  for (const Binding& b : bindings) {
    cm__Binding w;
    w.contact = b.contact;
    w.aor = b.aor;
    w.instance = optionalText(soap, b.instance);
    w.mac = optionalText(soap, b.mac);
    w.transport = toString(b.transport);
    w.source = b.sourceHostPort();
    w.expires = std::chrono::system_clock::to_time_t(b.expires);
    for (const PackageSubscription& p : b.packages) {
      cm__Subscription s;
      s.package = p.package;
      s.format = p.format == BodyFormat::Xml ? cm__BodyFormat::xml : cm__BodyFormat::text;
      s.how = p.implicit ? cm__SubscriptionKind::implicit : cm__SubscriptionKind::explicit_;
      w.subscription.push_back(std::move(s));
    }
    out.binding.push_back(std::move(w));
  }
}

int setFault(struct ::soap* soap, bool senderFault, cm__FaultCode code,
             const std::string& message) {
  // gSOAP copies the string into its own memory.
  const int rc = senderFault ? soap_sender_fault(soap, message.c_str(), nullptr)
                             : soap_receiver_fault(soap, message.c_str(), nullptr);
  putDetail(soap, code, message);
  return rc;
}

void addDetailToGsoapFault(struct ::soap* soap) {
  soap_set_fault(soap);  // fills faultcode and faultstring from soap->error
  SOAP_ENV__Detail* detail = detailOf(soap);
  if (!detail || detail->cm__fault) return;
  const char** code = soap_faultcode(soap);
  const bool sender =
      code && *code && (std::strstr(*code, "Client") || std::strstr(*code, "Sender"));
  const char** string = soap_faultstring(soap);
  std::string message = string && *string ? *string : "request refused";
  const char** extra = soap_faultdetail(soap);
  if (extra && *extra && **extra) {
    message += ": ";
    message += *extra;
    *extra = nullptr;  // now in the message; keep the detail to our element
  }
  putDetail(soap, sender ? cm__FaultCode::InvalidArgument : cm__FaultCode::Unavailable, message);
}

}  // namespace beckon::soap
