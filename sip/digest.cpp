#include "digest.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>

#include "nonce_counts.h"

namespace beckon::sip {

namespace {

constexpr std::size_t kTimeBytes = 8;
constexpr std::size_t kSaltBytes = 8;
constexpr std::size_t kMacBytes = 32;  // HMAC-SHA256
constexpr std::size_t kNonceBytes = kTimeBytes + kSaltBytes + kMacBytes;

// MD5 and SHA-256, fetched once for the process (explicit fetches are much
// cheaper per call than OpenSSL 3's implicit ones). Never freed: they live as
// long as the process, and the free functions below may run until its end.
struct Digests {
  EVP_MD* md5 = nullptr;
  EVP_MD* sha256 = nullptr;
};

const Digests& digests() {
  static const Digests d = [] {
    Digests x;
    x.md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
    x.sha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    if (!x.md5 || !x.sha256) throw std::runtime_error("digest: OpenSSL provides no MD5 or SHA-256");
    return x;
  }();
  return d;
}

std::string toHex(const unsigned char* data, std::size_t size) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

std::string hashHex(DigestAlgorithm algorithm, const std::string& data) {
  const Digests& d = digests();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (!EVP_Digest(data.data(), data.size(), out, &size,
                  algorithm == DigestAlgorithm::Md5 ? d.md5 : d.sha256, nullptr)) {
    throw std::runtime_error("digest: EVP_Digest failed");
  }
  return toHex(out, size);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string randomBytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("digest: RAND_bytes failed");
  }
  return out;
}

std::string randomHex(std::size_t bytes) {
  const std::string r = randomBytes(bytes);
  return toHex(reinterpret_cast<const unsigned char*>(r.data()), r.size());
}

constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// base64url without padding (RFC 4648 section 5).
std::string base64url(const std::string& in) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(in[k]); };
  for (; i + 3 <= in.size(); i += 3) {
    const unsigned v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += kBase64Url[(v >> 18) & 63];
    out += kBase64Url[(v >> 12) & 63];
    out += kBase64Url[(v >> 6) & 63];
    out += kBase64Url[v & 63];
  }
  if (in.size() - i == 1) {
    const unsigned v = byte(i) << 16;
    out += kBase64Url[(v >> 18) & 63];
    out += kBase64Url[(v >> 12) & 63];
  } else if (in.size() - i == 2) {
    const unsigned v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += kBase64Url[(v >> 18) & 63];
    out += kBase64Url[(v >> 12) & 63];
    out += kBase64Url[(v >> 6) & 63];
  }
  return out;
}

// Strict decoding of base64url without padding; nullopt on anything else.
std::optional<std::string> unbase64url(const std::string& in) {
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    const char* p = std::find(kBase64Url, kBase64Url + 64, c);
    if (p == kBase64Url + 64) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(p - kBase64Url);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;  // non-canonical trailing bits
  return out;
}

const char* algorithmName(DigestAlgorithm a) {
  return a == DigestAlgorithm::Md5 ? "MD5" : "SHA-256";
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// A quoted-string's content with its escapes undone; a token as it is.
std::string unquote(const std::string& v) {
  if (v.size() < 1 || v.front() != '"') return v;
  std::string out;
  for (std::size_t i = 1; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) {
      out += v[++i];
    } else if (v[i] == '"') {
      break;
    } else {
      out += v[i];
    }
  }
  return out;
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

}  // namespace

bool SipAuthConfig::needsCredentials(const std::string& method) const {
  return auth && std::find(authMethods.begin(), authMethods.end(), method) != authMethods.end();
}

std::string digestHa1(DigestAlgorithm algorithm, const std::string& user, const std::string& realm,
                      const std::string& password) {
  return hashHex(algorithm, user + ":" + realm + ":" + password);
}

std::string digestResponse(DigestAlgorithm algorithm, const std::string& ha1,
                           const std::string& nonce, const std::string& nc,
                           const std::string& cnonce, const std::string& qop,
                           const std::string& method, const std::string& uri) {
  const std::string ha2 = hashHex(algorithm, method + ":" + uri);
  if (qop.empty()) return hashHex(algorithm, ha1 + ":" + nonce + ":" + ha2);
  return hashHex(algorithm, ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":" + qop + ":" + ha2);
}

DigestResponse parseDigestParams(const char* const* params) {
  DigestResponse r;
  if (!params) return r;
  for (; *params; ++params) {
    const std::string p = *params;
    const auto eq = p.find('=');
    if (eq == std::string::npos) continue;
    const std::string name = lower(trim(p.substr(0, eq)));
    const std::string value = unquote(trim(p.substr(eq + 1)));
    if (name == "username") {
      r.username = value;
    } else if (name == "realm") {
      r.realm = value;
    } else if (name == "nonce") {
      r.nonce = value;
    } else if (name == "uri") {
      r.uri = value;
    } else if (name == "response") {
      r.response = value;
    } else if (name == "algorithm") {
      r.algorithm = value;
    } else if (name == "cnonce") {
      r.cnonce = value;
    } else if (name == "qop") {
      r.qop = value;
    } else if (name == "nc") {
      r.nc = value;
    } else if (name == "opaque") {
      r.opaque = value;
    }
  }
  return r;
}

// The HMAC key, held only inside an initialised EVP_MAC_CTX that is
// duplicated for each use (so that const methods may run concurrently).
struct DigestAuthenticator::Crypto {
  EVP_MAC* mac = nullptr;
  EVP_MAC_CTX* keyed = nullptr;

  Crypto() {
    mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac) keyed = EVP_MAC_CTX_new(mac);
    if (!keyed) throw std::runtime_error("digest: OpenSSL provides no HMAC");
    std::array<unsigned char, 32> secret{};
    if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1) {
      throw std::runtime_error("digest: RAND_bytes failed");
    }
    char sha256[] = "SHA2-256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, sha256, 0),
                                 OSSL_PARAM_construct_end()};
    const int ok = EVP_MAC_init(keyed, secret.data(), secret.size(), params);
    OPENSSL_cleanse(secret.data(), secret.size());
    if (ok != 1) throw std::runtime_error("digest: EVP_MAC_init failed");
  }
  ~Crypto() {
    EVP_MAC_CTX_free(keyed);
    EVP_MAC_free(mac);
  }
  Crypto(const Crypto&) = delete;
  Crypto& operator=(const Crypto&) = delete;

  std::string hmac(const std::string& data) const {
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(keyed);
    std::array<unsigned char, kMacBytes> out{};
    std::size_t size = 0;
    const bool ok = ctx &&
                    EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()),
                                   data.size()) == 1 &&
                    EVP_MAC_final(ctx, out.data(), &size, out.size()) == 1 && size == kMacBytes;
    EVP_MAC_CTX_free(ctx);
    if (!ok) throw std::runtime_error("digest: HMAC failed");
    return std::string(reinterpret_cast<const char*>(out.data()), out.size());
  }
};

DigestAuthenticator::DigestAuthenticator(DigestConfig config, const beckon::Clock& clock)
    : clock_(&clock),
      crypto_(std::make_unique<Crypto>()),
      counts_(std::make_unique<NonceCounts>()) {
  digests();  // fail here, not on the first request, when MD5 or SHA-256 is missing
  reconfigure(std::move(config));
  dummyMd5_ = randomHex(16);
  dummySha256_ = randomHex(32);
}

void DigestAuthenticator::reconfigure(DigestConfig config) {
  config_ = std::move(config);
  byUser_.clear();
  offerMd5_ = offerSha256_ = true;
  bool anyMd5 = false, anySha256 = false;
  for (std::size_t i = 0; i < config_.users.size(); ++i) {
    DigestUser& u = config_.users[i];
    u.ha1Md5 = lower(u.ha1Md5);
    u.ha1Sha256 = lower(u.ha1Sha256);
    anyMd5 = anyMd5 || !u.ha1Md5.empty();
    anySha256 = anySha256 || !u.ha1Sha256.empty();
    byUser_.emplace(u.user, i);
  }
  if (anyMd5 || anySha256) {
    offerMd5_ = anyMd5;
    offerSha256_ = anySha256;
  }
  algorithmOf_.clear();
  userAlgorithms_.clear();
  std::string secrets = config_.realm;
  for (const DigestUser& u : config_.users) {
    for (DigestAlgorithm a : config_.algorithms) {
      if ((a == DigestAlgorithm::Md5 ? u.ha1Md5 : u.ha1Sha256).empty()) continue;
      algorithmOf_.emplace(u.user, a);
      userAlgorithms_.push_back(a);
      break;
    }
    secrets += ":" + u.ha1Md5 + ":" + u.ha1Sha256;
  }
  unknownKey_ = hashHex(DigestAlgorithm::Sha256, secrets);
}

DigestAlgorithm DigestAuthenticator::algorithmFor(const std::string& user) const {
  if (const auto it = algorithmOf_.find(user); it != algorithmOf_.end()) return it->second;
  if (userAlgorithms_.empty()) return config_.algorithms.front();
  // A name nobody has: a configured user's algorithm, picked by a hash only
  // the HA1s' owner can compute, so that it stays the same for that name
  // (across restarts too) and follows the users' mix.
  const std::string h = hashHex(DigestAlgorithm::Sha256, unknownKey_ + ":" + user);
  const unsigned long pick = std::stoul(h.substr(0, 8), nullptr, 16);
  return userAlgorithms_[pick % userAlgorithms_.size()];
}

DigestAuthenticator::~DigestAuthenticator() = default;
DigestAuthenticator::DigestAuthenticator(DigestAuthenticator&&) noexcept = default;

std::string DigestAuthenticator::makeNonce() const {
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(clock_->now().time_since_epoch()).count();
  std::string raw(kTimeBytes, '\0');
  const auto t = static_cast<std::uint64_t>(now);
  for (std::size_t i = 0; i < kTimeBytes; ++i) {
    raw[i] = static_cast<char>((t >> (8 * (kTimeBytes - 1 - i))) & 0xff);
  }
  raw += randomBytes(kSaltBytes);
  raw += crypto_->hmac(raw + config_.realm);
  return base64url(raw);
}

std::optional<std::int64_t> DigestAuthenticator::nonceTime(const std::string& nonce) const {
  const auto raw = unbase64url(nonce);
  if (!raw || raw->size() != kNonceBytes) return std::nullopt;
  const std::string signedPart = raw->substr(0, kTimeBytes + kSaltBytes);
  const std::string mac = crypto_->hmac(signedPart + config_.realm);
  if (CRYPTO_memcmp(mac.data(), raw->data() + signedPart.size(), kMacBytes) != 0) {
    return std::nullopt;
  }
  std::uint64_t t = 0;
  for (std::size_t i = 0; i < kTimeBytes; ++i)
    t = (t << 8) | static_cast<unsigned char>((*raw)[i]);
  return static_cast<std::int64_t>(t);
}

std::vector<std::string> DigestAuthenticator::challenges(const std::string& user,
                                                         bool stale) const {
  const std::string nonce = makeNonce();
  const auto challenge = [&](DigestAlgorithm a) {
    std::string c = "Digest realm=" + quoted(config_.realm) + ", nonce=\"" + nonce +
                    "\", algorithm=" + algorithmName(a) + ", qop=\"auth\"";
    if (stale) c += ", stale=true";
    return c;
  };
  if (config_.offer == DigestOffer::PerUser) return {challenge(algorithmFor(user))};
  std::vector<std::string> out;
  for (DigestAlgorithm a : config_.algorithms) {
    if (a == DigestAlgorithm::Sha256 ? !offerSha256_ : !offerMd5_) continue;
    out.push_back(challenge(a));
  }
  return out;
}

DigestAuthenticator::Verdict DigestAuthenticator::verify(const DigestResponse& r,
                                                         const std::string& method,
                                                         const std::string& retransmission) const {
  if (r.realm != config_.realm || r.uri.empty() || r.username.empty() || r.nonce.empty() ||
      r.response.empty()) {
    return Verdict::Failed;
  }
  DigestAlgorithm algorithm;
  const std::string a = lower(r.algorithm);
  if (a.empty() || a == "md5") {
    algorithm = DigestAlgorithm::Md5;
  } else if (a == "sha-256") {
    algorithm = DigestAlgorithm::Sha256;
  } else {
    return Verdict::Failed;
  }
  if (std::find(config_.algorithms.begin(), config_.algorithms.end(), algorithm) ==
      config_.algorithms.end()) {
    return Verdict::Failed;  // not offered
  }
  // qop=auth, as every challenge offers: without it (RFC 2069) nc and cnonce
  // are missing and a captured response could be replayed.
  if (lower(r.qop) != "auth" || r.cnonce.empty()) return Verdict::Failed;
  const std::uint32_t nc = parseNonceCount(r.nc);
  if (nc == 0) return Verdict::Failed;
  // Everything so far depends only on the header, not on whether the user exists.
  const auto issued = nonceTime(r.nonce);
  if (!issued) return Verdict::Failed;

  // Unknown user or no HA1 for this algorithm: the same work against a dummy HA1.
  bool known = false;
  const std::string* ha1 = algorithm == DigestAlgorithm::Md5 ? &dummyMd5_ : &dummySha256_;
  if (const auto it = byUser_.find(r.username); it != byUser_.end()) {
    const DigestUser& u = config_.users[it->second];
    const std::string& h = algorithm == DigestAlgorithm::Md5 ? u.ha1Md5 : u.ha1Sha256;
    if (!h.empty()) {
      ha1 = &h;
      known = true;
    }
  }
  const std::string expected =
      digestResponse(algorithm, *ha1, r.nonce, r.nc, r.cnonce, r.qop, method, r.uri);
  const std::string given = lower(r.response);
  const bool match = given.size() == expected.size() &&
                     CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
  if (!match || !known) return Verdict::Failed;

  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(clock_->now().time_since_epoch()).count();
  const std::int64_t age = now - *issued;
  const std::int64_t lifetime = config_.nonceLifetime.count();
  // A nonce from the future (the clock went back) is stale beyond the lifetime too.
  if (age > lifetime || age < -lifetime) return Verdict::Stale;
  // Right, and the nonce lives: its nc must have grown.
  // (The request key is kept as a hash: bounded, whatever the Call-ID.)
  const std::string request =
      retransmission.empty() ? "" : hashHex(DigestAlgorithm::Sha256, retransmission);
  if (!counts_->use(r.nonce, *issued, nc, request, now, lifetime)) return Verdict::Replayed;
  return Verdict::Ok;
}

}  // namespace beckon::sip
