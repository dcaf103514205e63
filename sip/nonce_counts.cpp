#include "nonce_counts.h"

#include <algorithm>

namespace beckon::sip {

bool NonceCounts::use(const std::string& nonce, std::int64_t issued, std::uint32_t nc,
                      const std::string& request, std::int64_t now, std::int64_t lifetime) {
  std::lock_guard lock(mutex_);
  // Expired nonces: stale whatever their nc; forgotten as such, so that a
  // longer lifetime after a reload cannot bring them back unguarded.
  while (!counts_.empty() && counts_.begin()->first.first < now - lifetime) {
    forgottenUpTo_ = std::max(forgottenUpTo_, counts_.begin()->first.first);
    counts_.erase(counts_.begin());
  }
  const auto key = std::make_pair(issued, nonce);
  if (const auto it = counts_.find(key); it != counts_.end()) {
    if (nc == it->second.nc && !request.empty() && request == it->second.request) return true;
    if (nc <= it->second.nc) return false;
    it->second = {nc, request};
    return true;
  }
  if (issued <= forgottenUpTo_) return false;  // perhaps seen, then forgotten
  counts_.emplace(key, Count{nc, request});
  while (counts_.size() > capacity_) {
    forgottenUpTo_ = std::max(forgottenUpTo_, counts_.begin()->first.first);
    counts_.erase(counts_.begin());
  }
  return true;
}

std::size_t NonceCounts::size() const {
  std::lock_guard lock(mutex_);
  return counts_.size();
}

std::uint32_t parseNonceCount(const std::string& nc) {
  if (nc.empty() || nc.size() > 8) return 0;
  std::uint32_t v = 0;
  for (char c : nc) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      return 0;
    }
    v = (v << 4) | static_cast<std::uint32_t>(d);
  }
  return v;
}

}  // namespace beckon::sip
