// Helpers of the SOAP listener (soap_server.cpp): peer addresses, the Host
// header, gSOAP's error text, and the HTTPS context.
#pragma once

#include <sys/socket.h>

#include <string>
#include <string_view>

#include "auth.h"
#include "stdsoap2.h"

namespace beckon::soap {

// 127.0.0.0/8, ::1, or IPv4-mapped 127.x.
bool isLoopback(const sockaddr_storage& peer);
// "host:port", IPv6 as "[addr]:port".
std::string addressText(const sockaddr_storage& peer);
// The address alone, IPv4-mapped IPv6 as IPv4: what [limits] counts per source.
std::string hostText(const sockaddr_storage& peer);
// Refused at once, with a reset: no FIN handshake, no TIME_WAIT on our side.
void resetAndClose(SOAP_SOCKET s);
// A Host header we are willing to echo into the WSDL: host[:port], IPv6 in brackets.
bool plausibleHost(std::string_view host);
std::string replaceAll(std::string_view text, std::string_view from, std::string_view to);
// gSOAP's fault string and detail for the error in `soap`.
std::string errorText(struct ::soap* soap);
// HTTPS: one SSL_CTX on the master context (`soap`), shared by the workers'
// copies: TLS 1.2+ with our ciphers, the certificate, the client-certificate
// policy. Throws std::runtime_error naming the file and the problem.
void setUpServerTls(struct ::soap* soap, const SoapTls& tls);

}  // namespace beckon::soap
