// The TLS policy of every beckond listener (SIP over TLS, SOAP over HTTPS;
// docs/security.md): TLS 1.2 and 1.3 only, and for TLS 1.2 forward-secret
// key exchange (ECDHE) with AEAD ciphers only (TLS 1.3's suites all are).
// Plain constants, for sip/ and soap/ alike (no OpenSSL here).
#pragma once

namespace beckon {

// OpenSSL's TLS1_2_VERSION.
inline constexpr int kTlsMinVersion = 0x0303;
// OpenSSL cipher string for TLS 1.2.
inline constexpr const char* kTls12Ciphers = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL";

}  // namespace beckon
