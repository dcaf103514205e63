// Between the generated gSOAP types (wsdl/beckon.h) and the core's types.
#pragma once

#include <string>
#include <vector>

#include "binding.h"
#include "contact_request.h"
#include "fault.h"
#include "soapH.h"

namespace beckon::soap {

ContactMeParams toParams(const _cm__ContactMe& request);

// Fills `out` with data allocated in `soap` (freed by soap_destroy/soap_end).
void toWire(struct ::soap* soap, const ContactStatus& status, cm__ContactStatus& out);

// GetDevice's answer: `deviceId` as asked, one cm:binding per binding; the
// MAC written 00:04:f2:a1:b2:c3.
void toWire(struct ::soap* soap, const std::string& deviceId, const std::vector<Binding>& bindings,
            cm__Device& out);

cm__FaultCode toWire(FaultCode code);
cm__RequestState toWire(RequestState state);

// Puts the SOAP Fault (Client/Sender or Server/Receiver) with faultstring
// `message` and detail <cm:fault><code/><message/></cm:fault> into `soap`.
// Returns the error code the service operation must return.
int setFault(struct ::soap* soap, bool senderFault, cm__FaultCode code, const std::string& message);

// Adds the <cm:fault> detail to a fault that gSOAP raised itself (a request
// that does not parse or validate): InvalidArgument for sender faults,
// Unavailable otherwise. Leaves faults that already have our detail alone.
// Call it right after dispatch failed (before soap_destroy): a sender fault
// about a field of the request then reads "field: what is wrong" (faultstring
// and detail), from the element gSOAP was reading (soap->tag) or, for an
// occurrence constraint, from the request as far as it was read.
void addDetailToGsoapFault(struct ::soap* soap);

}  // namespace beckon::soap
