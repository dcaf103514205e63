// clang-format off  (gSOAP directives: "//gsoap" must stay as it is)
// The contact-me SOAP API (contract: spec/contact-me.md, "The SOAP API").
//
// This is the source of truth: soapcpp2 reads it (g++ never compiles it) and
// generates the C++ serializers, the service and proxy classes, the WSDL and
// the schema. contact-me.wsdl and contact-me.xsd next to it are the generated
// files, checked in for application-server teams; ctest `wsdl.up_to_date`
// fails when they drift from this header (copy them from the build tree, see
// CMakeLists.txt).
//
// Naming (soapcpp2 conventions): `cm__X` is the XML type cm:X, `_cm__X` the
// global element cm:X, `__cm__Op` an operation whose parameters are whole
// elements (document/literal, no generated wrapper). Numbers after a member
// are minOccurs[:maxOccurs]; pointers are optional elements.
//
// Adding an operation: declare its request element `_cm__Op` (and a response
// element or reuse cm__ContactStatus), then the operation
// `int __cm__Op(_cm__Op *cm__Op, <response> &resp);` with its own
// method-fault line.
//
// DeviceRegistered (the registration notice) is implemented by application
// servers and called by beckond. soapcpp2 puts every cm operation into one
// port type, so merge_wsdl.cmake moves it into port type
// ContactMeNoticePortType with its own bindings and service ContactMeNotice
// in the same WSDL; the generated C++ keeps it in ContactMeProxy (beckond's
// client side) and ContactMeService (which refuses it).

//gsoap cm service name:          ContactMe
//gsoap cm service type:          ContactMePortType
//gsoap cm service style:         document
//gsoap cm service encoding:      literal
//gsoap cm service namespace:     urn:beckon:contact-me:1
//gsoap cm service location:      http://localhost:8080/
//gsoap cm service documentation: beckon contact-me API: ask beckond to make a device contact its application server.
//gsoap cm schema namespace:      urn:beckon:contact-me:1
//gsoap cm schema elementForm:    qualified
//gsoap cm schema attributeForm:  unqualified
//gsoap cm service method-documentation: ContactMe Notify the device's subscribed bindings so that it calls back; answers when the request settles or after waitMs.
//gsoap cm schema type-documentation: ContactStatus What became of a contact request; one delivery per binding tried.
//gsoap cm schema type-documentation: Delivery One NOTIFY attempt to one binding; sipStatus 0 while no response came.
//gsoap cm service method-documentation: GetContactRequest The status of a request of the caller (or of the server named in onBehalfOf), kept at least an hour after it ended.
//gsoap cm service method-documentation: CancelContactRequest Cancel a queued request; one already delivered stays delivered. Answers the status after the cancel.
//gsoap cm service method-documentation: GetDevice The bindings of a device, for application servers allowed to query devices.
//gsoap cm service method-documentation: DeviceRegistered Registration notice, implemented by application servers and called by beckond: a device became reachable for a package.
//gsoap cm schema type-documentation: Device The bindings a device id names: one binding per registered Contact.
//gsoap cm schema type-documentation: Binding One registered Contact of the device and what it is subscribed to; mac is written lowercase with colons, 00:04:f2:a1:b2:c3.
//gsoap cm schema type-documentation: Subscription A package a binding is subscribed to: the body format of its NOTIFYs, and whether by REGISTER (implicit) or SUBSCRIBE (explicit).
//gsoap cm schema type-documentation: fault Detail of every SOAP Fault of this API; the message names the field for InvalidArgument.

#import "stlvector.h"

typedef std::string xsd__token;
typedef unsigned short xsd__unsignedShort;
typedef unsigned int xsd__unsignedInt;

/// State of a contact request: queued, notifying, then delivered, failed, expired or cancelled.
enum class cm__RequestState { queued, notifying, delivered, failed, expired, cancelled };

/// Why a request was refused (the code of the fault detail).
enum class cm__FaultCode {
  UnknownDevice,
  NotAuthorized,
  InvalidArgument,
  RequestIdConflict,
  Overloaded,
  Unavailable
};

/// Body format of the NOTIFYs: application/P (text) or application/P+xml (xml).
enum class cm__BodyFormat { text, xml };

/// How a binding subscribed: by REGISTER with Accept (implicit) or by SUBSCRIBE (explicit).
enum class cm__SubscriptionKind { implicit, explicit_ };

/// Whether beckond can reach a binding now: reachable (its flow is up, or UDP), unreachable (its connection closed; tried again once the device registers), push (no flow; woken by a push notification first, RFC 8599).
enum class cm__BindingState { reachable, unreachable, push };

/// One NOTIFY attempt to one binding of the device.
class cm__Delivery {
 public:
  /// The Contact URI of the binding.
  std::string contact 1;
  /// udp, tcp or tls.
  xsd__token transport 1;
  /// SIP status of the final response; 0 while none came.
  int sipStatus 1;
  /// Reason phrase, or why no response came.
  std::string reason 1;
  /// When the attempt ended, or started while in flight (UTC).
  time_t at 1;
};

/// What became of a contact request.
class cm__ContactStatus {
 public:
  std::string requestId 1;
  cm__RequestState state 1;
  std::vector<cm__Delivery> delivery 0;
};

/// ContactMe: notify the device's subscribed bindings so that it calls back.
class _cm__ContactMe {
 public:
  /// +sip.instance, MAC address, address of record or directory number.
  std::string deviceId 1;
  /// 1 to 128 of A-Z a-z 0-9 . _ ~ : -, unique per application server.
  std::string requestId 1;
  /// host or host:port to call back (IPv4, [IPv6], FQDN).
  std::string *server 0;
  /// Port to call back, when not in server.
  xsd__unsignedShort *port 0;
  /// http, https, ...
  xsd__token *protocol 0;
  /// Absolute path on the server.
  std::string *path 0;
  /// Further hostports to try.
  std::vector<std::string> alternateServer 0:8;
  /// Functional component to talk to.
  xsd__token *function 0;
  /// ISO 8601 interval in which to call back.
  std::string *timeSlot 0;
  /// Event package; default application-server-contact-me.
  xsd__token *package 0;
  /// Keep the request pending this long when no binding can be reached now.
  xsd__unsignedInt *queueSeconds 0 = 0;
  /// How long the call waits for the outcome (at most 30000).
  xsd__unsignedInt *waitMs 0 = 2000;
  /// The application server a contact triggering server acts for.
  std::string *onBehalfOf 0;
};

/// GetContactRequest: the status of a request.
class _cm__GetContactRequest {
 public:
  std::string requestId 1;
  /// The application server a contact triggering server acts for.
  std::string *onBehalfOf 0;
};

/// CancelContactRequest: cancel a queued request.
class _cm__CancelContactRequest {
 public:
  std::string requestId 1;
  /// The application server a contact triggering server acts for.
  std::string *onBehalfOf 0;
};

/// GetDevice: the bindings of a device.
class _cm__GetDevice {
 public:
  /// +sip.instance, MAC address, address of record or directory number.
  std::string deviceId 1;
};

/// A package a binding is subscribed to.
class cm__Subscription {
 public:
  xsd__token package 1;
  cm__BodyFormat format 1;
  cm__SubscriptionKind how 1;
};

/// One registered Contact of a device.
class cm__Binding {
 public:
  /// The Contact URI as registered.
  std::string contact 1;
  /// The address of record.
  std::string aor 1;
  /// +sip.instance, normalised (urn:..., no quotes or angle brackets), when the Contact has one.
  std::string *instance 0;
  /// MAC address, lowercase with colons (00:04:f2:a1:b2:c3), when the instance id carries one.
  std::string *mac 0;
  /// udp, tcp or tls.
  xsd__token transport 1;
  /// host:port the registration came from, as beckond saw it.
  std::string source 1;
  /// When the binding expires unless refreshed (UTC).
  time_t expires 1;
  std::vector<cm__Subscription> subscription 0;
  /// Whether beckond can reach it now; GetDevice lists every binding, the unreachable ones too.
  cm__BindingState state 1;
};

/// The bindings a device id names.
class cm__Device {
 public:
  /// The deviceId asked for, as given.
  std::string deviceId 1;
  std::vector<cm__Binding> binding 0;
};

/// DeviceRegistered (beckond calls it on application servers): a device
/// became reachable for a package.
class _cm__DeviceRegistered {
 public:
  /// The instance id, or the address of record when the device has none.
  std::string deviceId 1;
  std::string aor 1;
  std::string *instance 0;
  xsd__token package 1;
  /// The SIP server the device registered with (where to send ContactMe).
  std::string sipServer 1;
  /// When the binding appeared (UTC).
  time_t at 1;
};

/// The empty answer to DeviceRegistered.
class _cm__DeviceRegisteredResponse {
 public:
};

/// The detail of every fault of this API.
class _cm__fault {
 public:
  cm__FaultCode code 1;
  std::string message 1;
};

/// SOAP Fault detail: our cm:fault element, or anything else (other peers).
struct SOAP_ENV__Detail {
  _cm__fault *cm__fault 0;
  int __type;
  void *fault;
  _XML __any;
};

//gsoap cm service method-fault: ContactMe _cm__fault
int __cm__ContactMe(_cm__ContactMe *cm__ContactMe, cm__ContactStatus &status);

//gsoap cm service method-fault: GetContactRequest _cm__fault
int __cm__GetContactRequest(_cm__GetContactRequest *cm__GetContactRequest, cm__ContactStatus &status);

//gsoap cm service method-fault: CancelContactRequest _cm__fault
int __cm__CancelContactRequest(_cm__CancelContactRequest *cm__CancelContactRequest, cm__ContactStatus &status);

//gsoap cm service method-fault: GetDevice _cm__fault
int __cm__GetDevice(_cm__GetDevice *cm__GetDevice, cm__Device &device);

int __cm__DeviceRegistered(_cm__DeviceRegistered *cm__DeviceRegistered, _cm__DeviceRegisteredResponse &response);
