// The STUN responder's codec (RFC 5389, for RFC 5626 8 keep-alives): a
// Binding request gets a success response with the sender's address in
// XOR-MAPPED-ADDRESS; hostile or foreign datagrams get nothing.
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "stun.h"

using namespace beckon::sip;

namespace {

using Bytes = std::vector<std::uint8_t>;

const std::uint8_t kTransaction[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

Bytes request(std::uint16_t type = 0x0001, std::uint32_t cookie = stun::kMagicCookie,
              const Bytes& body = {}, int lengthDelta = 0) {
  const auto length = static_cast<std::uint16_t>(body.size() + lengthDelta);
  Bytes b(stun::kHeaderSize + body.size());
  b[0] = std::uint8_t(type >> 8);
  b[1] = std::uint8_t(type);
  b[2] = std::uint8_t(length >> 8);
  b[3] = std::uint8_t(length);
  for (int i = 0; i < 4; ++i)
    b[4 + i] = std::uint8_t(cookie >> (24 - 8 * i));
  for (int i = 0; i < 12; ++i)
    b[8 + i] = kTransaction[i];
  for (std::size_t i = 0; i < body.size(); ++i)
    b[stun::kHeaderSize + i] = body[i];
  return b;
}

sockaddr_in v4(const char* host, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, host, &a.sin_addr);
  return a;
}

std::optional<Bytes> answer(const Bytes& req, const sockaddr_in& from) {
  return stun::bindingResponse(req, reinterpret_cast<const sockaddr*>(&from), sizeof from);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(stun_responder)

BOOST_AUTO_TEST_CASE(binding_request_gets_the_xor_mapped_ipv4_address) {
  const auto a = answer(request(), v4("192.0.2.7", 40000));
  BOOST_REQUIRE(a);
  const Bytes& r = *a;
  BOOST_REQUIRE_EQUAL(r.size(), 32u);
  BOOST_TEST(r[0] == 0x01);
  BOOST_TEST(r[1] == 0x01);  // Binding success response
  BOOST_TEST(r[2] == 0);
  BOOST_TEST(r[3] == 12);  // one attribute of 8 bytes
  BOOST_TEST((r[4] == 0x21 && r[5] == 0x12 && r[6] == 0xA4 && r[7] == 0x42));
  BOOST_TEST(std::memcmp(r.data() + 8, kTransaction, 12) == 0);
  BOOST_TEST((r[20] == 0x00 && r[21] == 0x20));  // XOR-MAPPED-ADDRESS
  BOOST_TEST((r[22] == 0 && r[23] == 8));
  BOOST_TEST(r[25] == 0x01);  // IPv4
  const unsigned port = ((r[26] << 8) | r[27]) ^ 0x2112;
  BOOST_TEST(port == 40000u);
  const std::uint8_t cookie[4] = {0x21, 0x12, 0xA4, 0x42};
  const std::uint8_t host[4] = {192, 0, 2, 7};
  for (int i = 0; i < 4; ++i)
    BOOST_TEST((r[28 + i] ^ cookie[i]) == host[i]);
}

BOOST_AUTO_TEST_CASE(ipv6_is_masked_with_cookie_and_transaction) {
  sockaddr_in6 from{};
  from.sin6_family = AF_INET6;
  from.sin6_port = htons(5070);
  inet_pton(AF_INET6, "2001:db8::5", &from.sin6_addr);
  const auto a =
      stun::bindingResponse(request(), reinterpret_cast<const sockaddr*>(&from), sizeof from);
  BOOST_REQUIRE(a);
  BOOST_REQUIRE_EQUAL(a->size(), 44u);
  BOOST_TEST((*a)[25] == 0x02);
  std::uint8_t mask[16] = {0x21, 0x12, 0xA4, 0x42};
  std::memcpy(mask + 4, kTransaction, 12);
  for (int i = 0; i < 16; ++i)
    BOOST_TEST(((*a)[28 + i] ^ mask[i]) == from.sin6_addr.s6_addr[i]);
}

BOOST_AUTO_TEST_CASE(v4_mapped_peer_is_reported_as_ipv4) {
  sockaddr_in6 from{};
  from.sin6_family = AF_INET6;
  from.sin6_port = htons(5070);
  inet_pton(AF_INET6, "::ffff:127.0.0.2", &from.sin6_addr);
  const auto a =
      stun::bindingResponse(request(), reinterpret_cast<const sockaddr*>(&from), sizeof from);
  BOOST_REQUIRE(a);
  BOOST_TEST(a->size() == 32u);
  BOOST_TEST(((*a)[28] ^ 0x21) == 127);
}

BOOST_AUTO_TEST_CASE(optional_attributes_are_ignored) {
  // FINGERPRINT (0x8028): comprehension-optional.
  const auto a = answer(request(0x0001, stun::kMagicCookie, {0x80, 0x28, 0, 4, 1, 2, 3, 4}),
                        v4("127.0.0.1", 1));
  BOOST_TEST(a.has_value());
}

BOOST_AUTO_TEST_CASE(hostile_and_foreign_datagrams_get_nothing) {
  const auto from = v4("127.0.0.1", 5060);
  Bytes shortOne = request();
  shortOne.resize(19);
  BOOST_TEST(!answer(shortOne, from));
  BOOST_TEST(!answer({}, from));
  BOOST_TEST(!answer(request(0x0001, 0xdeadbeef), from));  // wrong cookie (or RFC 3489)
  BOOST_TEST(!answer(request(0x0001, stun::kMagicCookie, {}, 0xb18e), from));        // huge length
  BOOST_TEST(!answer(request(0x0001, stun::kMagicCookie, {0, 0, 0, 0}, -4), from));  // short
  BOOST_TEST(!answer(request(0x0001, stun::kMagicCookie, {0, 0}, 0), from));  // not 4-aligned
  BOOST_TEST(!answer(request(0x0101), from));                                 // a response
  BOOST_TEST(!answer(request(0x0111), from));                                 // an error
  BOOST_TEST(!answer(request(0x0011), from));                                 // an indication
  BOOST_TEST(!answer(request(0x0003), from));                                 // another method
  BOOST_TEST(!answer(request(0x4001), from));                                 // top bits set
  // An attribute longer than the message, and a truncated attribute header.
  BOOST_TEST(!answer(request(0x0001, stun::kMagicCookie, {0x80, 0x28, 0, 8, 1, 2, 3, 4}), from));
  BOOST_TEST(!answer(request(0x0001, stun::kMagicCookie, {0x80, 0x28, 0, 0xff}), from));
  // Comprehension-required: USERNAME, MESSAGE-INTEGRITY (no credentials here).
  BOOST_TEST(
      !answer(request(0x0001, stun::kMagicCookie, {0x00, 0x06, 0, 4, 'u', 's', 'e', 'r'}), from));
  // Larger than any keep-alive.
  BOOST_TEST(!answer(request(0x0001, stun::kMagicCookie, Bytes(1024, 0x80)), from));
  // An address family with no STUN encoding, or a short address.
  sockaddr unix{};
  unix.sa_family = AF_UNIX;
  BOOST_TEST(!stun::bindingResponse(request(), &unix, sizeof unix));
  BOOST_TEST(!stun::bindingResponse(request(), reinterpret_cast<const sockaddr*>(&from), 4));
  BOOST_TEST(!stun::bindingResponse(request(), nullptr, 0));
}

BOOST_AUTO_TEST_SUITE_END()
