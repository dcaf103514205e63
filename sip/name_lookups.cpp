#include "name_lookups.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netdb.h>

#include <sofia-sip/su_config.h>
#include <sofia-sip/su_addrinfo.h>

namespace {

thread_local bool numericOnly = false;

bool numeric(const char* host) {
  unsigned char address[sizeof(in6_addr)];
  return inet_pton(AF_INET, host, address) == 1 || inet_pton(AF_INET6, host, address) == 1;
}

}  // namespace

namespace beckon::sip {

void numericLookupsOnly() {
  numericOnly = true;
}

}  // namespace beckon::sip

// Interposes Sofia's own su_getaddrinfo (libsofia-sip-ua calls it through its
// PLT), then hands everything it allows to it.
extern "C" int su_getaddrinfo(char const* node, char const* service, su_addrinfo_t const* hints,
                              su_addrinfo_t** res) {
  using Lookup = int (*)(char const*, char const*, su_addrinfo_t const*, su_addrinfo_t**);
  static const Lookup sofia = reinterpret_cast<Lookup>(dlsym(RTLD_NEXT, "su_getaddrinfo"));
  if (numericOnly && node && !numeric(node)) return EAI_NONAME;
  if (!sofia) return getaddrinfo(node, service, hints, res);
  return sofia(node, service, hints, res);
}
