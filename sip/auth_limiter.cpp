#include "auth_limiter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace beckon::sip {

AuthFailureLimiter::AuthFailureLimiter(AuthLimits limits) : limits_(limits) {}

void AuthFailureLimiter::reconfigure(AuthLimits limits) {
  limits_ = limits;
}

AuthFailureLimiter::Blocked AuthFailureLimiter::blocked(const std::string& source,
                                                        const std::string& user, TimePoint now) {
  if (limits_.sourceFailures && sources_.blocked(source, now)) return Blocked::Source;
  if (limits_.userFailures && users_.blocked(user, now)) return Blocked::User;
  return Blocked::No;
}

AuthFailureLimiter::NewBlocks AuthFailureLimiter::failed(const std::string& source,
                                                         const std::string& user, TimePoint now) {
  NewBlocks out;
  if (limits_.sourceFailures)
    out.source = sources_.failed(source, limits_.sourceFailures, limits_, now);
  if (limits_.userFailures) out.user = users_.failed(user, limits_.userFailures, limits_, now);
  return out;
}

bool AuthFailureLimiter::Table::blocked(const std::string& key, TimePoint now) {
  const auto it = entries_.find(key);
  return it != entries_.end() && now < it->second.blockedUntil;
}

bool AuthFailureLimiter::Table::failed(const std::string& key, unsigned limit, const AuthLimits& l,
                                       TimePoint now) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    while (!entries_.empty() && entries_.size() >= std::max<std::size_t>(l.tracked, 1)) {
      entries_.erase(uses_.back());
      uses_.pop_back();
    }
    uses_.push_front(key);
    it = entries_.emplace(key, Entry{0, now, {}, uses_.begin()}).first;
  } else {
    uses_.splice(uses_.begin(), uses_, it->second.use);
  }
  Entry& e = it->second;
  if (now < e.blockedUntil) return false;  // already blocked (not counted)
  if (now - e.windowStart >= l.window || now < e.windowStart) {
    e.windowStart = now;
    e.count = 0;
  }
  if (++e.count < limit) return false;
  e.count = 0;
  e.windowStart = now;
  e.blockedUntil = now + l.block;
  return true;
}

std::string sourceKey(const std::string& s) {
  std::string host = s;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    host = host.substr(1, close == std::string::npos ? std::string::npos : close - 1);
  } else if (std::count(host.begin(), host.end(), ':') == 1) {
    host = host.substr(0, host.find(':'));
  }
  unsigned char a6[16];
  if (inet_pton(AF_INET6, host.c_str(), a6) == 1) {
    std::memset(a6 + 8, 0, 8);
    char text[INET6_ADDRSTRLEN];
    if (inet_ntop(AF_INET6, a6, text, sizeof text)) return std::string(text) + "/64";
  }
  return host;
}

}  // namespace beckon::sip
