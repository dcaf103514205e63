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
#include <vector>

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

// TCP and TLS connections that carry a dialog the proxy record-routes, held
// (a Sofia reference) while the dialog lives, so that limits.sip_idle_ms
// (TPTAG_IDLE) does not close them under a call: a caller that never
// registered has nothing else that holds its connection, and the callee's
// BYE must reach it over that connection (its Contact is behind NAT). A
// registered device's connection is held by its binding (flow.h) anyway.
// Released when a BYE of the dialog passes, or when the connection closes.
class DialogConnections {
 public:
  // At most this many dialogs are held; past it a new one is not (with a
  // warning): its connection lives as long as it is used, as before.
  static constexpr std::size_t kMaxDialogs = 65536;

  DialogConnections() = default;
  ~DialogConnections() { releaseAll(); }
  DialogConnections(const DialogConnections&) = delete;
  DialogConnections& operator=(const DialogConnections&) = delete;

  // The dialog a 2xx (or a request inside it) names, by its Call-ID and both
  // tags (either order: the callee's requests swap From and To); empty
  // without both tags.
  static std::string dialogOf(sip_t const* sip);
  // The dialog of `sip` holds `connection` (null, closed or a UDP socket:
  // nothing to hold).
  void hold(sip_t const* sip, tport_t* connection);
  // A BYE of the dialog of `sip` passed: its connections are idle like any.
  void release(sip_t const* sip);
  // Often, on the SIP thread: forgets the holds of connections that closed.
  void tick();
  // Before the agent goes.
  void releaseAll();
  std::size_t size() const { return held_.size(); }

 private:
  std::unordered_map<std::string, std::vector<tport_t*>> held_;
  std::chrono::steady_clock::time_point lastTidy_{};
  Throttle full_;
};

}  // namespace beckon::sip
