#include "tls_policy.h"

#include <dlfcn.h>
#include <openssl/ssl.h>

#include <atomic>

#include "tls.h"

namespace {

thread_local int scopes = 0;
std::atomic<int> applied{0};

}  // namespace

namespace beckon::sip {

TlsPolicyScope::TlsPolicyScope() {
  ++scopes;
}

TlsPolicyScope::~TlsPolicyScope() {
  --scopes;
}

int tlsPolicyApplied() {
  return applied.load();
}

}  // namespace beckon::sip

extern "C" int SSL_CTX_set_cipher_list(SSL_CTX* ctx, const char* list) {
  using SetCiphers = int (*)(SSL_CTX*, const char*);
  static const SetCiphers openssl =
      reinterpret_cast<SetCiphers>(dlsym(RTLD_NEXT, "SSL_CTX_set_cipher_list"));
  if (!openssl) return 0;  // cannot happen with a dynamic libssl; fail closed
  if (scopes == 0 || !ctx) return openssl(ctx, list);
  if (SSL_CTX_set_min_proto_version(ctx, beckon::kTlsMinVersion) != 1) return 0;
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  const int ok = openssl(ctx, beckon::kTls12Ciphers);
  if (ok == 1) ++applied;
  return ok;
}
