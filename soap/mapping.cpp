#include "mapping.h"

#include <cctype>
#include <chrono>
#include <cstring>
#include <initializer_list>
#include <string_view>
#include <utility>

#include "xml_text.h"

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
  if (s) *s = xmlSafe(value);
  return s;
}

// "0004f2a1b2c3" (the core's normalised form) as "00:04:f2:a1:b2:c3", the
// form the API documents; anything else as it is.
std::string macText(const std::string& mac) {
  if (mac.size() != 12) return mac;
  std::string out;
  out.reserve(17);
  for (std::size_t i = 0; i < mac.size(); ++i) {
    const auto c = static_cast<unsigned char>(mac[i]);
    if (!std::isxdigit(c)) return mac;
    if (i > 0 && i % 2 == 0) out += ':';
    out += static_cast<char>(std::tolower(c));
  }
  return out;
}

std::string_view localName(std::string_view tag) {
  const std::size_t colon = tag.rfind(':');
  return colon == std::string_view::npos ? tag : tag.substr(colon + 1);
}

// The object of gSOAP type `type` the deserializer instantiated last (C++
// objects stay on soap->clist until soap_destroy), even when it then failed.
template <class T>
const T* lastInstantiated(struct ::soap* soap, int type) {
  for (const soap_clist* cp = soap->clist; cp; cp = cp->next) {
    if (cp->type == type && cp->size < 0 && cp->ptr) return static_cast<const T*>(cp->ptr);
  }
  return nullptr;
}

// With -s, soapcpp2 checks every occurrence constraint of a request element
// (minOccurs of the required members, maxOccurs of alternateServer) after its
// end tag, and then reports the request element, not the member. The
// request it has read so far tells which constraint broke: "field: why", or
// empty when it cannot tell. A required string that is missing reads as
// empty, like a present but empty one; both are refused as "required".
std::string occurrenceViolation(struct ::soap* soap, std::string_view element) {
  auto firstEmpty = [](std::initializer_list<std::pair<const char*, const std::string*>> fields) {
    for (const auto& [name, value] : fields) {
      if (value->empty()) return std::string(name) + ": required";
    }
    return std::string();
  };
  if (element == "ContactMe") {
    const auto* r = lastInstantiated<_cm__ContactMe>(soap, SOAP_TYPE__cm__ContactMe);
    if (!r) return {};
    if (r->alternateServer.size() > kMaxAlternateServers) {
      return "alternateServer: at most " + std::to_string(kMaxAlternateServers) + " are allowed, " +
             std::to_string(r->alternateServer.size()) + " were given";
    }
    return firstEmpty({{"deviceId", &r->deviceId}, {"requestId", &r->requestId}});
  }
  if (element == "GetContactRequest") {
    const auto* r =
        lastInstantiated<_cm__GetContactRequest>(soap, SOAP_TYPE__cm__GetContactRequest);
    return r ? firstEmpty({{"requestId", &r->requestId}}) : std::string();
  }
  if (element == "CancelContactRequest") {
    const auto* r =
        lastInstantiated<_cm__CancelContactRequest>(soap, SOAP_TYPE__cm__CancelContactRequest);
    return r ? firstEmpty({{"requestId", &r->requestId}}) : std::string();
  }
  if (element == "GetDevice") {
    const auto* r = lastInstantiated<_cm__GetDevice>(soap, SOAP_TYPE__cm__GetDevice);
    return r ? firstEmpty({{"deviceId", &r->deviceId}}) : std::string();
  }
  if (element == "DeviceRegistered") {
    const auto* r = lastInstantiated<_cm__DeviceRegistered>(soap, SOAP_TYPE__cm__DeviceRegistered);
    if (!r) return {};
    std::string why = firstEmpty({{"deviceId", &r->deviceId},
                                  {"aor", &r->aor},
                                  {"package", &r->package},
                                  {"sipServer", &r->sipServer}});
    return why.empty() ? "at: required" : why;  // the only other required member
  }
  return {};
}

// A fault gSOAP's deserializer raised inside a request, as InvalidArgument
// wants it: "field: what is wrong". Empty when the fault is not about a
// field of the request (the envelope, an unknown operation, ...). soap->tag
// is the element as the request wrote it: any prefix, or none.
std::string fieldMessage(struct ::soap* soap, std::string_view gsoapMessage) {
  const std::string_view tag = soap->tag;
  if (tag.empty()) return {};
  // gSOAP: "Validation constraint violation: <what> in element '<tag>'".
  static constexpr std::string_view kPrefix = "Validation constraint violation: ";
  std::string_view what = gsoapMessage;
  if (what.substr(0, kPrefix.size()) == kPrefix) what.remove_prefix(kPrefix.size());
  const std::string field(localName(tag));

  // Levels: 1 Envelope, 2 Body; the request's members are read at 3 and deeper.
  if (soap->level >= 3) {
    if (soap->error == SOAP_TAG_MISMATCH) {
      // Strict mode refuses what is not a member, and a member given again.
      return field + ": unexpected element '" + std::string(tag) +
             "' (not a field of this request, or one given more than once)";
    }
    return field + ": " + std::string(what);
  }
  // The request element itself, after its end tag: an occurrence constraint.
  if (soap->error != SOAP_OCCURS) return {};
  return occurrenceViolation(soap, field);
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
  // Text that came from devices may hold any byte: xmlSafe() (xml_text.h).
  out.requestId = xmlSafe(status.requestId);
  out.state = toWire(status.state);
  out.delivery.clear();
  out.delivery.reserve(status.deliveries.size());
  for (const Delivery& d : status.deliveries) {
    cm__Delivery w;
    w.contact = xmlSafe(d.contact);
    w.transport = toString(d.transport);
    w.sipStatus = d.sipStatus;
    w.reason = xmlSafe(d.reason);
    w.at = std::chrono::system_clock::to_time_t(d.at);
    out.delivery.push_back(std::move(w));
  }
}

void toWire(struct ::soap* soap, const std::string& deviceId, const std::vector<Binding>& bindings,
            cm__Device& out) {
  out.deviceId = xmlSafe(deviceId);
  out.binding.clear();
  out.binding.reserve(bindings.size());
  for (const Binding& b : bindings) {
    cm__Binding w;
    w.contact = xmlSafe(b.contact);
    w.aor = xmlSafe(b.aor);
    w.instance = optionalText(soap, b.instance);
    w.mac = optionalText(soap, macText(b.mac));
    w.transport = toString(b.transport);
    w.source = xmlSafe(b.sourceHostPort());
    w.expires = std::chrono::system_clock::to_time_t(b.expires);
    for (const PackageSubscription& p : b.packages) {
      cm__Subscription s;
      s.package = xmlSafe(p.package);
      s.format = p.format == BodyFormat::Xml ? cm__BodyFormat::xml : cm__BodyFormat::text;
      s.how = p.implicit ? cm__SubscriptionKind::implicit : cm__SubscriptionKind::explicit_;
      w.subscription.push_back(std::move(s));
    }
    // As Wakeups::needsWake: a device that asked for push is woken first
    // unless a connection of its own is up.
    const bool wake = !b.push.empty() && (b.unreachable || b.transport == Transport::Udp);
    w.state = wake            ? cm__BindingState::push
              : b.unreachable ? cm__BindingState::unreachable
                              : cm__BindingState::reachable;
    out.binding.push_back(std::move(w));
  }
}

int setFault(struct ::soap* soap, bool senderFault, cm__FaultCode code,
             const std::string& message) {
  // gSOAP copies the string into its own memory. A message may quote what
  // a device sent.
  const std::string text = xmlSafe(message);
  const int rc = senderFault ? soap_sender_fault(soap, text.c_str(), nullptr)
                             : soap_receiver_fault(soap, text.c_str(), nullptr);
  putDetail(soap, code, text);
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
  if (sender) {
    // Name the field, like the faults of our own validation.
    std::string named = fieldMessage(soap, message);
    if (!named.empty()) {
      message = std::move(named);
      if (string) *string = soap_strdup(soap, message.c_str());
    }
  }
  putDetail(soap, sender ? cm__FaultCode::InvalidArgument : cm__FaultCode::Unavailable, message);
}

}  // namespace beckon::soap
