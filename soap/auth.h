// Who is calling the SOAP API (contract: "Who may do what"): the identities
// of the configured application servers and contact triggering servers, and
// how a caller proves one (a verified TLS client certificate, or HTTP Basic
// over TLS). What an identified caller may then do is notifier/policy.h's
// business. Plain structs, no gSOAP or OpenSSL types: app/ config code
// includes this.
#pragma once

#include <string>
#include <string_view>
#include <vector>

struct ssl_st;  // OpenSSL's SSL

namespace beckon::soap {

// How one application server authenticates; `name` is the Caller name that
// ContactService (and its Policy) sees. At least one way must be given.
struct AppServerIdentity {
  std::string name;
  // HTTP Basic, accepted over HTTPS only.
  std::string basicUser;
  std::string basicPasswordSha256;  // SHA-256 of the password, hex (any case)
  // TLS client certificate (verified against SoapTls::caFile): its subject,
  // either as OpenSSL's X509_NAME_oneline ("/C=FR/O=Example/CN=crm", when it
  // starts with '/') or RFC 2253 ("CN=crm,O=Example,C=FR"), compared exactly;
  // and/or the SHA-256 fingerprint of the DER certificate, hex, with or
  // without colons, any case ("AB:CD:..." as `openssl x509 -fingerprint
  // -sha256` prints it is fine).
  std::string certSubject;
  std::string certFingerprint;
};

// HTTPS for the SOAP listener.
struct SoapTls {
  std::string certFile;  // PEM: the server certificate, then its chain
  std::string keyFile;   // PEM: the private key (unencrypted)
  std::string caFile;    // PEM: CAs that sign client certificates (needed unless None)
  enum class ClientCerts {
    None,      // no client certificate is asked for
    Optional,  // asked for, verified when sent; Basic stays possible
    Required,  // the TLS handshake fails without a valid client certificate
  };
  ClientCerts clientCerts = ClientCerts::None;
};

// The client certificate of a TLS connection, once OpenSSL has verified it.
struct PeerCertificate {
  std::string subjectOneline;  // "/C=FR/O=Example/CN=crm"
  std::string subjectRfc2253;  // "CN=crm,O=Example,C=FR"
  std::string fingerprint;     // SHA-256 of the DER, lowercase hex, no colons
};

// Lowercase hex of SHA-256(data).
std::string sha256Hex(std::string_view data);
// "AB:cd:..." -> "abcd...": a 64-digit lowercase hex SHA-256; throws
// std::invalid_argument when it is not one.
std::string normalizeSha256Hex(std::string_view text);

// The verified client certificate of `ssl`, or an empty subject and
// fingerprint when the peer sent none or it did not verify.
PeerCertificate verifiedPeerCertificate(const ssl_st* ssl);

class Authenticator {
 public:
  // Throws std::invalid_argument naming the identity and the field when one
  // is unusable (no name, duplicate name, no way to authenticate, a bad hash
  // or fingerprint). app/ can call it to check a configuration.
  explicit Authenticator(std::vector<AppServerIdentity> identities);

  // No identities: loopback callers only, as the one server "local".
  bool empty() const { return identities_.empty(); }
  const std::vector<AppServerIdentity>& identities() const { return identities_; }

  const AppServerIdentity* byCertificate(const PeerCertificate& cert) const;
  // Compares SHA-256(password) with every identity of that user in constant time.
  const AppServerIdentity* byBasic(std::string_view user, std::string_view password) const;

 private:
  std::vector<AppServerIdentity> identities_;  // normalised
};

}  // namespace beckon::soap
