#include "listener_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <stdexcept>

#include "tls.h"

namespace beckon::soap {

bool isLoopback(const sockaddr_storage& peer) {
  if (peer.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(peer);
    return (ntohl(in.sin_addr.s_addr) >> 24) == 127;
  }
  if (peer.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&in6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&in6) && in6.s6_addr[12] == 127;
  }
  return false;
}

std::string addressText(const sockaddr_storage& peer) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (peer.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(peer);
    inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(in.sin_port));
  }
  if (peer.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(peer);
    inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(in6.sin6_port));
  }
  return text;
}

std::string hostText(const sockaddr_storage& peer) {
  const std::string text = addressText(peer);
  const auto colon = text.rfind(':');
  std::string host = colon == std::string::npos ? text : text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (host.rfind("::ffff:", 0) == 0 && host.find('.') != std::string::npos) host = host.substr(7);
  return host;
}

void resetAndClose(SOAP_SOCKET s) {
  const linger reset{1, 0};
  setsockopt(s, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  soap_closesocket(s);
}

bool plausibleHost(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string replaceAll(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(text.size());
  std::size_t at = 0;
  for (std::size_t hit; (hit = text.find(from, at)) != std::string_view::npos;
       at = hit + from.size()) {
    out.append(text.substr(at, hit - at));
    out.append(to);
  }
  out.append(text.substr(at));
  return out;
}

std::string errorText(struct ::soap* soap) {
  const char** s = soap_faultstring(soap);
  std::string text = s && *s ? *s : "error " + std::to_string(soap->error);
  const char** d = soap_faultdetail(soap);
  if (d && *d && **d) text += std::string(" (") + *d + ")";
  return text;
}

void setUpServerTls(struct ::soap* soap, const SoapTls& tls) {
  auto fail = [&](const std::string& what) {
    std::string why = errorText(soap);
    char text[256];
    for (unsigned long e; (e = ERR_get_error()) != 0;) {
      ERR_error_string_n(e, text, sizeof text);
      why += std::string("; ") + text;
    }
    throw std::runtime_error("SOAP TLS: " + what + ": " + why);
  };
  if (tls.certFile.empty() || tls.keyFile.empty())
    throw std::runtime_error("SOAP TLS: a certificate file and a key file are required");
  if (tls.clientCerts != SoapTls::ClientCerts::None && tls.caFile.empty())
    throw std::runtime_error("SOAP TLS: client certificates need a CA file to verify them");
  soap_ssl_init();
  // On a server context gSOAP's flags mean: REQUIRE_SERVER_AUTHENTICATION
  // asks for a client certificate and verifies it when sent (SSL_VERIFY_PEER);
  // REQUIRE_CLIENT_AUTHENTICATION also fails the handshake without one.
  unsigned short flags = SOAP_TLSv1_2 | SOAP_TLSv1_3;
  switch (tls.clientCerts) {
    case SoapTls::ClientCerts::None:
      flags |= SOAP_SSL_NO_AUTHENTICATION;
      break;
    case SoapTls::ClientCerts::Optional:
      flags |= SOAP_SSL_REQUIRE_SERVER_AUTHENTICATION;
      break;
    case SoapTls::ClientCerts::Required:
      flags |= SOAP_SSL_REQUIRE_CLIENT_AUTHENTICATION;
      break;
  }
  // Client certificates are verified against the configured CAs only.
  if (!tls.caFile.empty()) flags |= SOAP_SSL_NO_DEFAULT_CA_PATH;
  const char* caFile = tls.caFile.empty() ? nullptr : tls.caFile.c_str();
  if (soap_ssl_server_context(soap, flags, nullptr, nullptr, caFile, nullptr, nullptr, nullptr,
                              "beckond")) {
    fail("cannot set up the context (CA file " + tls.caFile + ")");
  }
  SSL_CTX* ctx = soap->ctx;
  if (SSL_CTX_use_certificate_chain_file(ctx, tls.certFile.c_str()) != 1)
    fail("cannot read the certificate " + tls.certFile);
  if (SSL_CTX_use_PrivateKey_file(ctx, tls.keyFile.c_str(), SSL_FILETYPE_PEM) != 1)
    fail("cannot read the key " + tls.keyFile);
  if (SSL_CTX_check_private_key(ctx) != 1)
    fail("the key " + tls.keyFile + " does not match the certificate " + tls.certFile);
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // TLS 1.2 with ECDHE and AEAD ciphers only (notifier/tls.h); TLS 1.3's suites all are.
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) fail("cannot set the TLS 1.2 ciphers");
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (caFile && tls.clientCerts != SoapTls::ClientCerts::None) {
    // The CAs named in the CertificateRequest, so clients pick the right certificate.
    SSL_CTX_set_client_CA_list(ctx, SSL_load_client_CA_file(caFile));
  }
}

}  // namespace beckon::soap
