// Replay protection of digest credentials (RFC 7616 3.4: "if the same nc
// value is seen twice, then the request is a replay"): per nonce, the
// highest nonce-count (nc) of the credentials that were right for it.
//
// Only credentials whose response was right enter the table (a stranger
// without a password cannot fill it), and only while their nonce lives.
// Memory is bounded: at most `capacity` nonces (65536 by default, about
// 15 MB: the nonce, its issue time, the count and a 64-byte request key in
// one std::map node). Past
// it the nonce issued first is forgotten, and so is every nonce issued no
// later than it: a nonce that is not in the table and was issued no later
// than the last one forgotten counts as a replay (the caller answers with a
// fresh challenge, stale=true), so that forgetting never opens a replay.
// Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace beckon::sip {

class NonceCounts {
 public:
  static constexpr std::size_t kDefaultCapacity = 65536;
  explicit NonceCounts(std::size_t capacity = kDefaultCapacity) : capacity_(capacity) {}

  // Credentials right for `nonce` (issued at `issued`, seconds since the
  // epoch) carry `nc`: true when nc is higher than every nc seen for it (it
  // is remembered, with `request`), false for a replay. The highest nc
  // again with the same non-empty `request` is a retransmission of that
  // request: true. Nonces issued before now - lifetime are dropped first
  // (their credentials are stale anyway).
  bool use(const std::string& nonce, std::int64_t issued, std::uint32_t nc,
           const std::string& request, std::int64_t now, std::int64_t lifetime);

  std::size_t size() const;

 private:
  std::size_t capacity_;
  mutable std::mutex mutex_;
  // (issue time, nonce) -> highest nc: ordered by issue time, so that the
  // oldest go first.
  struct Count {
    std::uint32_t nc;
    std::string request;  // of the highest nc
  };
  std::map<std::pair<std::int64_t, std::string>, Count> counts_;
  // Nonces issued at or before this may have been forgotten.
  std::int64_t forgottenUpTo_ = std::numeric_limits<std::int64_t>::min();
};

// An nc value (RFC 7616: 8LHEX; 1 to 8 hex digits of either case are
// taken); 0 when it is not one (or is zero, which no count is).
std::uint32_t parseNonceCount(const std::string& nc);

}  // namespace beckon::sip
