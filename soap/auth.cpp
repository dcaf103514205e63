#include "auth.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <set>
#include <stdexcept>

namespace beckon::soap {

namespace {

std::string hex(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

std::string rfc2253(X509_NAME* name) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

}  // namespace

std::string sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (!EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr)) {
    throw std::runtime_error("SHA-256 failed");
  }
  return hex(digest, size);
}

std::string normalizeSha256Hex(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == ':') continue;
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      throw std::invalid_argument("not a hexadecimal SHA-256");
    }
    out.push_back(c);
  }
  if (out.size() != 64) throw std::invalid_argument("not a SHA-256 (64 hexadecimal digits)");
  return out;
}

PeerCertificate verifiedPeerCertificate(const ssl_st* ssl) {
  PeerCertificate cert;
  if (!ssl || SSL_get_verify_result(ssl) != X509_V_OK) return cert;
  std::unique_ptr<X509, decltype(&X509_free)> peer(SSL_get1_peer_certificate(ssl), X509_free);
  if (!peer) return cert;
  X509_NAME* subject = X509_get_subject_name(peer.get());
  if (subject) {
    char line[1024];
    if (X509_NAME_oneline(subject, line, sizeof line)) cert.subjectOneline = line;
    cert.subjectRfc2253 = rfc2253(subject);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (X509_digest(peer.get(), EVP_sha256(), digest, &size)) cert.fingerprint = hex(digest, size);
  return cert;
}

Authenticator::Authenticator(std::vector<AppServerIdentity> identities) {
  std::set<std::string> names;
  for (AppServerIdentity& id : identities) {
    const std::string who = "application server '" + id.name + "'";
    if (id.name.empty()) throw std::invalid_argument("an application server has no name");
    if (!names.insert(id.name).second) throw std::invalid_argument(who + " is listed twice");
    if (id.basicUser.empty() != id.basicPasswordSha256.empty()) {
      throw std::invalid_argument(who + ": HTTP Basic needs both a user and a password SHA-256");
    }
    if (id.basicUser.empty() && id.certSubject.empty() && id.certFingerprint.empty()) {
      throw std::invalid_argument(
          who + ": no way to authenticate (HTTP Basic, certificate subject or fingerprint)");
    }
    try {
      if (!id.basicPasswordSha256.empty())
        id.basicPasswordSha256 = normalizeSha256Hex(id.basicPasswordSha256);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(who + ": password SHA-256: " + e.what());
    }
    try {
      if (!id.certFingerprint.empty()) id.certFingerprint = normalizeSha256Hex(id.certFingerprint);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(who + ": certificate fingerprint: " + e.what());
    }
  }
  identities_ = std::move(identities);
}

const AppServerIdentity* Authenticator::byCertificate(const PeerCertificate& cert) const {
  if (cert.fingerprint.empty()) return nullptr;
  for (const AppServerIdentity& id : identities_) {
    if (!id.certFingerprint.empty() && id.certFingerprint == cert.fingerprint) return &id;
    if (id.certSubject.empty()) continue;
    const std::string& subject =
        id.certSubject.front() == '/' ? cert.subjectOneline : cert.subjectRfc2253;
    if (!subject.empty() && id.certSubject == subject) return &id;
  }
  return nullptr;
}

const AppServerIdentity* Authenticator::byBasic(std::string_view user,
                                                std::string_view password) const {
  if (user.empty()) return nullptr;
  const std::string digest = sha256Hex(password);
  const AppServerIdentity* found = nullptr;
  for (const AppServerIdentity& id : identities_) {
    if (id.basicUser != user) continue;
    // Both are 64 hex digits: compare all of them, whatever differs first.
    if (CRYPTO_memcmp(id.basicPasswordSha256.data(), digest.data(), digest.size()) == 0 && !found) {
      found = &id;
    }
  }
  return found;
}

}  // namespace beckon::soap
