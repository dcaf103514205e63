// Limits on the SIP thread's TCP and TLS connections ([limits] sip_*):
// how many per source address and in all, and how soon a new connection
// must bring a whole request.
//
// Sofia's tport has no connection limit and no hook where a connection is
// accepted. So beckond defines accept(): on the SIP thread, while a guard is
// installed there (only Sofia's listeners accept on it), each accepted
// connection is admitted or reset at once; on any other thread accept() is
// the C library's. The guard never closes a descriptor Sofia owns: a
// connection it cuts later is shut down, and Sofia closes it on the EOF.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <chrono>
#include <deque>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "admission.h"
#include "metrics.h"
#include "sofia.h"

namespace beckon::sip {

class ConnectionGuard {
 public:
  using Clock = std::chrono::steady_clock;

  // Raises the open-file limit toward what the connection limits need
  // (lowering the SIP total, with a warning, where it cannot).
  // Refusals and cuts are counted in `metrics` (may be null).
  explicit ConnectionGuard(const Limits& limits, Metrics* metrics = nullptr);
  ~ConnectionGuard();
  ConnectionGuard(const ConnectionGuard&) = delete;
  ConnectionGuard& operator=(const ConnectionGuard&) = delete;

  // From now on accept() on the calling thread goes through admit().
  void install();
  void uninstall();

  // A whole message came in (any transport; only connections count): the
  // connection has shown it speaks SIP.
  void delivered(nta_agent_t* agent, msg_t* msg);
  // Often, on the SIP thread: closes connections past their first-message
  // deadline, forgets closed ones.
  void tick();

  // The accept hook's question: keep the connection `fd` from `peer`?
  bool admit(int fd, const sockaddr_storage& peer);

  std::size_t open() const { return count_.total(); }

 private:
  struct Connection {
    ino_t inode = 0;     // the socket's: the descriptor may be reused by another
    std::string source;  // the peer's address
    std::string key;     // peer address, port and our port (see keyOf)
    Clock::time_point acceptedAt;
    bool proven = false;  // a whole message came
    bool cut = false;     // shut down by us; Sofia closes it
  };
  bool alive(int fd, const Connection& c) const;
  void forget(int fd);
  void forgetClosed(const std::string& source);
  void forgetAllClosed(Clock::time_point now);
  // One line a second at most for each: a flood must not flood the log.
  static void warn(Throttle& throttle, const std::string& line);

  void count(Metrics::Limit l) const {
    if (metrics_) metrics_->limitRefused(l);
  }

  Limits limits_;
  Metrics* metrics_;
  ConnectionCount count_;
  std::unordered_map<int, Connection> byFd_;
  std::unordered_map<std::string, int> byKey_;
  std::unordered_map<std::string, std::unordered_set<int>> fdsBySource_;
  std::deque<std::pair<Clock::time_point, int>> probation_;  // in order of acceptance
  std::size_t unproven_ = 0;
  Clock::time_point lastFullCheck_{};
  Throttle refusals_, cuts_;
};

}  // namespace beckon::sip
