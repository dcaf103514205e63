// Works around a memory leak of Debian 12's Sofia-SIP (1.12.11): every SIP
// TLS connection leaked its OpenSSL SSL object (about 35 KB with its
// buffers), so a device reconnecting, or anyone opening TLS connections to
// the SIP port, grew beckond without bound.
//
// Sofia's tls_free() (tport/tport_tls.c) ends a connection with
//     SSL_shutdown(con); SSL_CTX_free(ctx); BIO_free(bio_con);
// and never calls SSL_free(con). Later Sofia-SIP releases call it. This file
// defines SSL_shutdown in the executable: the dynamic linker binds Sofia's
// (and every other library's) calls to it ahead of libssl's. It calls the
// real SSL_shutdown and, when the caller is libsofia-sip-ua, also frees the
// SSL object, keeping one reference to its BIO for Sofia's BIO_free that
// follows. Calls from anywhere else only pass through: gSOAP, libcurl,
// OpenSSL itself, and Sofia's STUN client (which frees its SSL itself).
//
// Linked as an object into the executables that run Sofia TLS transports
// (beckond, beckon-ua). A Sofia-SIP whose tls_free() calls SSL_free itself
// must not get this (a double free): tests/integration/test_tls.py's leak
// test and the ASan suite say which one is installed (docs/decisions.md,
// "Sofia-SIP's TLS leak").

#include <dlfcn.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <cstring>

namespace {

using ShutdownFn = int (*)(SSL*);

ShutdownFn realShutdown() {
  static const ShutdownFn real = reinterpret_cast<ShutdownFn>(dlsym(RTLD_NEXT, "SSL_shutdown"));
  return real;
}

// True when `caller` is inside Sofia's tls_free().
bool fromSofiaTlsFree(const void* caller) {
  Dl_info info{};
  return dladdr(caller, &info) != 0 && info.dli_fname && info.dli_sname &&
         std::strstr(info.dli_fname, "libsofia-sip-ua") != nullptr &&
         std::strcmp(info.dli_sname, "tls_free") == 0;
}

}  // namespace

extern "C" int SSL_shutdown(SSL* ssl) {
  const ShutdownFn real = realShutdown();
  const int result = real ? real(ssl) : -1;
  if (ssl && fromSofiaTlsFree(__builtin_return_address(0))) {
    // Sofia next frees the BIO it gave SSL_set_bio(), and drops a reference
    // to the SSL_CTX (1.12.11 marks a connection's tls_t as a master, so
    // its tls_free() calls SSL_CTX_free on the listener's context: the
    // reference the leaked SSL object held). Both stay alive for that.
    if (BIO* bio = SSL_get_rbio(ssl)) BIO_up_ref(bio);
    SSL_CTX_up_ref(SSL_get_SSL_CTX(ssl));
    SSL_free(ssl);
  }
  return result;
}
