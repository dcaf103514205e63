#include "stun.h"

#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "sofia.h"

// Sofia's handle for a STUN server object: ours holds nothing.
struct tport_stun_server_s {
  int unused = 0;
};

extern "C" {
#include <sofia-sip/tport_plugins.h>
}

// The plugged-in vtable (Sofia's, exported but declared only in its
// internal headers): which STUN server Sofia will use.
extern "C" tport_stun_server_vtable_t const* tport_stun_server_vtable;

namespace beckon::sip::stun {

namespace {

constexpr std::uint16_t kBindingRequest = 0x0001;
constexpr std::uint16_t kBindingSuccess = 0x0101;
constexpr std::uint16_t kXorMappedAddress = 0x0020;
// Larger than any keep-alive: a Binding request with a few attributes.
constexpr std::size_t kMaxRequest = 548;

std::uint16_t get16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}

std::uint32_t get32(std::span<const std::uint8_t> b, std::size_t at) {
  return std::uint32_t(get16(b, at)) << 16 | get16(b, at + 2);
}

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  put16(out, static_cast<std::uint16_t>(v >> 16));
  put16(out, static_cast<std::uint16_t>(v));
}

// The attributes fill the body exactly (each padded to 4 bytes), and none
// needs understanding (RFC 5389 15: types below 0x8000 do; beckond
// understands none in a request, and keeps no credentials for
// MESSAGE-INTEGRITY: such a request is dropped rather than answered 420).
bool attributesAcceptable(std::span<const std::uint8_t> body) {
  std::size_t at = 0;
  while (at < body.size()) {
    if (body.size() - at < 4) return false;
    const std::uint16_t type = get16(body, at);
    const std::size_t length = get16(body, at + 2);
    const std::size_t padded = (length + 3) & ~std::size_t(3);
    if (body.size() - at - 4 < padded) return false;
    if (type < 0x8000) return false;
    at += 4 + padded;
  }
  return true;
}

}  // namespace

std::optional<std::vector<std::uint8_t>> bindingResponse(std::span<const std::uint8_t> request,
                                                         const sockaddr* from,
                                                         socklen_t fromLength) {
  if (request.size() < kHeaderSize || request.size() > kMaxRequest || !from) return std::nullopt;
  if ((request[0] & 0xC0) != 0) return std::nullopt;  // not STUN (RFC 5389 6)
  if (get16(request, 0) != kBindingRequest) return std::nullopt;
  const std::size_t length = get16(request, 2);
  if (length % 4 != 0 || length != request.size() - kHeaderSize) return std::nullopt;
  if (get32(request, 4) != kMagicCookie) return std::nullopt;
  if (!attributesAcceptable(request.subspan(kHeaderSize))) return std::nullopt;

  const auto transaction = request.subspan(8, 12);
  std::uint8_t address[16];
  std::size_t addressSize = 0;
  std::uint16_t port = 0;
  if (from->sa_family == AF_INET && fromLength >= socklen_t(sizeof(sockaddr_in))) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(from);
    std::memcpy(address, &in->sin_addr, 4);
    addressSize = 4;
    port = ntohs(in->sin_port);
  } else if (from->sa_family == AF_INET6 && fromLength >= socklen_t(sizeof(sockaddr_in6))) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(from);
    port = ntohs(in6->sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {  // an IPv4 peer on a dual-stack socket
      std::memcpy(address, &in6->sin6_addr.s6_addr[12], 4);
      addressSize = 4;
    } else {
      std::memcpy(address, &in6->sin6_addr, 16);
      addressSize = 16;
    }
  } else {
    return std::nullopt;
  }

  // XOR-MAPPED-ADDRESS (RFC 5389 15.2): the port XOR the cookie's top half,
  // the address XOR the cookie (and, for IPv6, the transaction id).
  std::uint8_t mask[16];
  for (int i = 0; i < 4; ++i)
    mask[i] = static_cast<std::uint8_t>(kMagicCookie >> (24 - 8 * i));
  std::memcpy(mask + 4, transaction.data(), 12);

  std::vector<std::uint8_t> out;
  out.reserve(kHeaderSize + 4 + 4 + addressSize);
  put16(out, kBindingSuccess);
  put16(out, static_cast<std::uint16_t>(4 + 4 + addressSize));
  put32(out, kMagicCookie);
  out.insert(out.end(), transaction.begin(), transaction.end());
  put16(out, kXorMappedAddress);
  put16(out, static_cast<std::uint16_t>(4 + addressSize));
  out.push_back(0);
  out.push_back(addressSize == 4 ? 0x01 : 0x02);
  put16(out, static_cast<std::uint16_t>(port ^ (kMagicCookie >> 16)));
  for (std::size_t i = 0; i < addressSize; ++i)
    out.push_back(static_cast<std::uint8_t>(address[i] ^ mask[i]));
  return out;
}

namespace {

tport_stun_server_t theServer;

tport_stun_server_t* create(su_root_t*, tagi_t const*) {
  return &theServer;
}
void destroy(tport_stun_server_t*) {}
int addSocket(tport_stun_server_t*, su_socket_t) {
  return 0;
}
int removeSocket(tport_stun_server_t*, su_socket_t) {
  return 0;
}

// On the SIP thread, for a datagram whose first byte is 0 (Sofia took those
// that are 1, STUN responses, and drops them).
void onRequest(tport_stun_server_t*, su_socket_t socket, void* data, ssize_t size, void* addr,
               socklen_t addrLength) {
  if (!data || size <= 0 || !addr) return;
  const auto answer =
      bindingResponse({static_cast<const std::uint8_t*>(data), static_cast<std::size_t>(size)},
                      static_cast<const sockaddr*>(addr), addrLength);
  // Sofia's caller takes this datagram for a failed read (tport returns -1
  // once a STUN server has taken a datagram): EAGAIN makes that a quiet one.
  errno = EAGAIN;
  if (!answer) return;
  // Best effort, as UDP is: a full socket buffer loses this keep-alive's
  // answer and the device sends the next one.
  (void)::sendto(socket, answer->data(), answer->size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                 static_cast<const sockaddr*>(addr), addrLength);
  errno = EAGAIN;
}

// Sofia refuses a vtable whose vst_size is not larger than the struct it
// knows (room for later members): this one says how much it really has.
struct Plugin {
  tport_stun_server_vtable_t vtable;
  void* reserved;
};

const Plugin kPlugin{
    {static_cast<int>(sizeof(Plugin)), create, destroy, addSocket, removeSocket, onRequest},
    nullptr};

}  // namespace

bool installResponder() {
  static std::once_flag once;
  static bool installed = false;
  std::call_once(once, [] {
    tport_plug_in_stun_server(&kPlugin.vtable);
    installed = tport_stun_server_vtable == &kPlugin.vtable;
  });
  return installed;
}

}  // namespace beckon::sip::stun
