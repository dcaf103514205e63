#include "route_token.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

namespace beckon::sip {

namespace {

constexpr char kHex[] = "0123456789abcdef";

void appendHex(std::string& out, const unsigned char* bytes, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 15];
  }
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool fromHex(std::string_view hex, unsigned char* out) {
  for (std::size_t i = 0; i < hex.size() / 2; ++i) {
    const int hi = hexValue(hex[2 * i]), lo = hexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return hex.size() % 2 == 0;
}

char letterOf(Transport t) {
  return t == Transport::Tcp ? 't' : t == Transport::Tls ? 's' : 'u';
}

// "u" + address + port, e.g. "u7f0000011f90" for UDP 127.0.0.1:8080.
bool encodeFlow(std::string& out, const FlowAddress& f) {
  if (f.empty()) return true;
  unsigned char addr[16];
  std::size_t n = 4;
  if (inet_pton(AF_INET, f.host.c_str(), addr) != 1) {
    if (inet_pton(AF_INET6, f.host.c_str(), addr) != 1) return false;
    n = 16;
  }
  out += letterOf(f.transport);
  appendHex(out, addr, n);
  const unsigned char port[2] = {static_cast<unsigned char>(f.port >> 8),
                                 static_cast<unsigned char>(f.port & 0xff)};
  appendHex(out, port, 2);
  return true;
}

std::optional<FlowAddress> decodeFlow(std::string_view s) {
  FlowAddress f;
  if (s.empty()) return f;
  switch (s.front()) {
    case 'u':
      f.transport = Transport::Udp;
      break;
    case 't':
      f.transport = Transport::Tcp;
      break;
    case 's':
      f.transport = Transport::Tls;
      break;
    default:
      return std::nullopt;
  }
  s.remove_prefix(1);
  if (s.size() != 2 * (4 + 2) && s.size() != 2 * (16 + 2)) return std::nullopt;
  unsigned char bytes[18];
  if (!fromHex(s, bytes)) return std::nullopt;
  const std::size_t n = s.size() / 2 - 2;
  char text[INET6_ADDRSTRLEN] = "";
  if (!inet_ntop(n == 4 ? AF_INET : AF_INET6, bytes, text, sizeof text)) return std::nullopt;
  f.host = text;
  f.port = static_cast<std::uint16_t>(bytes[n] << 8 | bytes[n + 1]);
  return f;
}

}  // namespace

std::array<unsigned char, 32> RouteTokens::randomKey() {
  std::array<unsigned char, 32> key;
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    throw std::runtime_error("no random bytes for the Record-Route key");
  }
  return key;
}

RouteTokens::RouteTokens() : RouteTokens(std::vector<DialogKey>{{1, randomKey(), {}}}) {}

RouteTokens::RouteTokens(const std::vector<DialogKey>& keys) {
  setKeys(keys);
}

RouteTokens::~RouteTokens() {
  clear();
}

void RouteTokens::clear() {
  for (Key& k : keys_)
    EVP_MAC_CTX_free(k.hmac);
  keys_.clear();
}

void RouteTokens::setKeys(const std::vector<DialogKey>& keys) {
  if (keys.empty()) throw std::invalid_argument("no Record-Route key");
  std::vector<Key> made;
  try {
    for (const DialogKey& key : keys) {
      EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
      EVP_MAC_CTX* ctx = hmac ? EVP_MAC_CTX_new(hmac) : nullptr;
      EVP_MAC_free(hmac);  // the context keeps its own reference
      char digest[] = "SHA256";
      const OSSL_PARAM params[] = {
          OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
          OSSL_PARAM_construct_end()};
      if (!ctx || EVP_MAC_init(ctx, key.secret.data(), key.secret.size(), params) != 1) {
        EVP_MAC_CTX_free(ctx);
        throw std::runtime_error("OpenSSL gives no HMAC-SHA256 for the Record-Route key");
      }
      made.push_back({key.generation, ctx});
    }
  } catch (...) {
    for (Key& k : made)
      EVP_MAC_CTX_free(k.hmac);
    throw;
  }
  std::sort(made.begin(), made.end(),
            [](const Key& a, const Key& b) { return a.generation < b.generation; });
  clear();
  keys_ = std::move(made);
}

std::string RouteTokens::mac(EVP_MAC_CTX* hmac, std::string_view signedPart,
                             std::string_view ftag) {
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  const unsigned char bar = '|';
  // The key stays: EVP_MAC_init() without one starts a new MAC with it.
  if (EVP_MAC_init(hmac, nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(hmac, reinterpret_cast<const unsigned char*>(signedPart.data()),
                     signedPart.size()) != 1 ||
      EVP_MAC_update(hmac, &bar, 1) != 1 ||
      EVP_MAC_update(hmac, reinterpret_cast<const unsigned char*>(ftag.data()), ftag.size()) != 1 ||
      EVP_MAC_final(hmac, out, &len, sizeof out) != 1 || len < 8) {
    return "";  // no token: a request with it is taken for not ours
  }
  std::string hex;
  appendHex(hex, out, 8);
  return hex;
}

std::string RouteTokens::encode(const DialogFlows& flows, std::string_view ftag) const {
  const Key& key = keys_.back();
  std::string token = "b" + std::to_string(key.generation) + ".";
  if (!encodeFlow(token, flows.caller)) return "";
  token += '.';
  if (!encodeFlow(token, flows.callee)) return "";
  const std::string signature = mac(key.hmac, std::string_view(token).substr(1), ftag);
  if (signature.empty()) return "";
  return token + '.' + signature;
}

std::optional<DialogFlows> RouteTokens::decode(std::string_view user, std::string_view ftag) const {
  if (user.size() < 2 || user.front() != 'b') return std::nullopt;
  user.remove_prefix(1);
  const auto last = user.rfind('.');
  if (last == std::string_view::npos) return std::nullopt;
  const std::string_view signedPart = user.substr(0, last);
  // The generation: decimal digits up to the first dot.
  const auto first = signedPart.find('.');
  if (first == std::string_view::npos || first == 0 || first > 9) return std::nullopt;
  std::uint32_t generation = 0;
  for (char c : signedPart.substr(0, first)) {
    if (c < '0' || c > '9') return std::nullopt;
    generation = generation * 10 + static_cast<std::uint32_t>(c - '0');
  }
  const auto key = std::find_if(keys_.begin(), keys_.end(),
                                [&](const Key& k) { return k.generation == generation; });
  if (key == keys_.end()) return std::nullopt;
  const std::string expected = mac(key->hmac, signedPart, ftag);
  const std::string_view given = user.substr(last + 1);
  if (expected.empty() || given.size() != expected.size() ||
      CRYPTO_memcmp(given.data(), expected.data(), given.size()))
    return std::nullopt;
  const std::string_view flows = signedPart.substr(first + 1);
  const auto dot = flows.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto caller = decodeFlow(flows.substr(0, dot));
  auto callee = decodeFlow(flows.substr(dot + 1));
  if (!caller || !callee || caller->empty()) return std::nullopt;
  return DialogFlows{std::move(*caller), std::move(*callee)};
}

}  // namespace beckon::sip
