// Host names are not looked up on the SIP thread once it serves.
//
// Sofia answers a request whose Via it cannot use (a malformed request whose
// Via names another transport, or a Via with maddr=) at the host the Via
// names, and resolves a name there with a blocking getaddrinfo() on the SIP
// thread (tport_resolve). One such datagram per DNS timeout (seconds, with a
// slow or hostile name server) stalls every device; the fuzzer found it when
// the name server began to drop its flood of queries. beckond needs no name
// lookups while it serves (answers go to the numeric source address,
// RFC 3581; NOTIFYs to the numeric address a device registered from), so
// Sofia's su_getaddrinfo() is wrapped: on a thread that called
// numericLookupsOnly(), only numeric hosts are resolved, and a name fails at
// once (EAI_NONAME: Sofia drops that answer). Listen addresses given as
// names are still resolved at start, before the call.
#pragma once

namespace beckon::sip {

// From now on, this thread resolves numeric hosts only.
void numericLookupsOnly();

}  // namespace beckon::sip
