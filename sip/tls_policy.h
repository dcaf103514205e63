// beckond's TLS policy (notifier/tls.h) on Sofia-SIP's TLS transport.
//
// Sofia-SIP 1.12.11 makes its SSL_CTX itself and offers no tag for the
// protocol versions or ciphers: it calls SSL_CTX_set_cipher_list() with its
// fixed "ALL:!ADH:!LOW:!EXP:!MD5:@STRENGTH" (CBC and RSA key exchange
// included), and TPTAG_TLS_VERSION only chooses between TLSv1_method and
// SSLv23_method. So OpenSSL's SSL_CTX_set_cipher_list (which Sofia calls
// through its PLT) is wrapped: on a thread inside a TlsPolicyScope (the SIP
// thread while it sets up its transports), the context gets beckond's
// ciphers, TLS 1.2 as its minimum and the server's cipher order instead.
// Every other call passes through unchanged.
#pragma once

namespace beckon::sip {

class TlsPolicyScope {
 public:
  TlsPolicyScope();
  ~TlsPolicyScope();
  TlsPolicyScope(const TlsPolicyScope&) = delete;
  TlsPolicyScope& operator=(const TlsPolicyScope&) = delete;
};

// How many contexts got the policy so far (for a check at start).
int tlsPolicyApplied();

}  // namespace beckon::sip
