// RFC 5626 4.4.1 on SIP over TLS: a double CRLF (ping) gets a CRLF (pong).
//
// Sofia-SIP 1.12.11 answers pings with TPTAG_PONG2PING on TCP only: its TLS
// transport reads through tls_read() and skips the CRLFs as whitespace
// before a message, answering nothing (so RFC 5626 devices on TLS lose their
// flow, and the keep-alive that keeps NAT bindings open does not tell them
// it is alive). There is no hook between TLS and the SIP parser. So, as
// sofia_tls_free.cpp does for SSL_shutdown, this file defines SSL_read in
// the executable: it calls libssl's, and when the caller is Sofia-SIP and
// the bytes read begin with one or more CRLFCRLF (what a ping is: CRLFs
// before any message; a message begins with a method or "SIP/2.0"), it
// writes one CRLF per ping on the same connection. Calls from anywhere else
// (gSOAP's HTTPS workers, libcurl, OpenSSL itself) only pass through.
//
// The pong is written when Sofia has just read, between its own messages:
// Sofia writes each message with one SSL_write, so a pong never lands
// inside one. A pong that cannot go at once (the socket buffer is full) is
// dropped, as a lost datagram would be: the device pings again. (Sofia's
// TCP transport is left to Sofia: TPTAG_PONG2PING.)

#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>

#include <algorithm>

#include <atomic>
#include <cstring>

namespace {

using ReadFn = int (*)(SSL*, void*, int);

ReadFn realRead() {
  static const ReadFn real = reinterpret_cast<ReadFn>(dlsym(RTLD_NEXT, "SSL_read"));
  return real;
}

// The one place in Sofia that calls SSL_read (tls_read), once seen.
std::atomic<const void*> sofiaCaller{nullptr};

bool fromSofia(const void* caller) {
  if (caller == sofiaCaller.load(std::memory_order_relaxed)) return true;
  Dl_info info{};
  const bool sofia = dladdr(caller, &info) != 0 && info.dli_fname &&
                     std::strstr(info.dli_fname, "libsofia-sip-ua") != nullptr;
  if (sofia) sofiaCaller.store(caller, std::memory_order_relaxed);
  return sofia;
}

}  // namespace

extern "C" int SSL_read(SSL* ssl, void* buffer, int size) {
  const ReadFn real = realRead();
  if (!real) return -1;
  const int n = real(ssl, buffer, size);
  if (n < 4 || !fromSofia(__builtin_return_address(0))) return n;
  const auto* bytes = static_cast<const char*>(buffer);
  int pings = 0;
  while ((pings + 1) * 4 <= n && std::memcmp(bytes + pings * 4, "\r\n\r\n", 4) == 0)
    ++pings;
  if (pings == 0) return n;
  static constexpr char kPongs[] = "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";
  const int length = std::min<int>(2 * pings, sizeof kPongs - 1);
  // Only into room there is now: a write that would block would leave
  // OpenSSL waiting for this very buffer to be written again, and Sofia's
  // next write would fail. A failure leaves nothing in the error queue,
  // where Sofia's next SSL_get_error() would find it.
  pollfd out{SSL_get_fd(ssl), POLLOUT, 0};
  if (out.fd < 0 || ::poll(&out, 1, 0) != 1 || !(out.revents & POLLOUT)) return n;
  if (SSL_write(ssl, kPongs, length) <= 0) ERR_clear_error();
  return n;
}
