// Slowing down password guessing ([sip.auth] *_failure_limit, failure_window_s,
// block_s): failed digest attempts are counted per source address and per
// user name; when one reaches its limit within the window, its further
// attempts are refused with 403 without being checked, for block_s. The
// right password is refused too while blocked: a guesser learns nothing.
//
// - A source is its IPv4 address, or the /64 of its IPv6 address (one host
//   has a whole /64 to pick addresses from).
// - Counting is in fixed windows: the window starts at a key's first failure
//   and its count resets once it is over.
// - Memory is bounded: at most `tracked` sources and as many users (10000
//   each by default, about 100 bytes a key); past it the least recently
//   failed key is forgotten. A flood of distinct keys can thus make the
//   limiter forget a block: it slows guessing down, a firewall stops it.
// - A per-user block locks that user's phones out too (anyone may fail for
//   a user name): user_failure_limit = 0 turns that half off.
// Not thread-safe (the SIP thread).
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <string>
#include <unordered_map>

#include "clock.h"

namespace beckon::sip {

struct AuthLimits {
  unsigned sourceFailures = 50;  // 0: no limit per source
  unsigned userFailures = 20;    // 0: no limit per user
  std::chrono::seconds window{60};
  std::chrono::seconds block{300};
  std::size_t tracked = 10000;  // sources (and users) remembered at most

  bool operator==(const AuthLimits&) const = default;
};

class AuthFailureLimiter {
 public:
  explicit AuthFailureLimiter(AuthLimits limits = {});
  AuthFailureLimiter(const AuthFailureLimiter&) = delete;  // its lists' iterators
  AuthFailureLimiter& operator=(const AuthFailureLimiter&) = delete;
  // New limits (SIGHUP); counts and blocks are kept.
  void reconfigure(AuthLimits limits);
  const AuthLimits& limits() const { return limits_; }

  enum class Blocked { No, Source, User };
  // Whether attempts from `source` (a sourceKey()) or for `user` are refused now.
  Blocked blocked(const std::string& source, const std::string& user, TimePoint now);

  // Counts a failed attempt; says which of the two it has just blocked.
  struct NewBlocks {
    bool source = false;
    bool user = false;
  };
  NewBlocks failed(const std::string& source, const std::string& user, TimePoint now);

  std::size_t tracked() const { return sources_.size() + users_.size(); }

 private:
  class Table {
   public:
    bool blocked(const std::string& key, TimePoint now);
    // True when this failure blocks the key.
    bool failed(const std::string& key, unsigned limit, const AuthLimits& l, TimePoint now);
    std::size_t size() const { return entries_.size(); }

   private:
    struct Entry {
      unsigned count = 0;
      TimePoint windowStart{};
      TimePoint blockedUntil{};
      std::list<std::string>::iterator use;
    };
    std::unordered_map<std::string, Entry> entries_;
    std::list<std::string> uses_;  // most recently failed first
  };

  AuthLimits limits_;
  Table sources_, users_;
};

// The key of a source: "203.0.113.7" for "203.0.113.7", "203.0.113.7:5060";
// "2001:db8:1:2::/64" for "2001:db8:1:2:3:4:5:6", "[2001:db8:1:2::9]:5060".
// Anything that is no address is kept as it is.
std::string sourceKey(const std::string& hostOrHostPort);

}  // namespace beckon::sip
