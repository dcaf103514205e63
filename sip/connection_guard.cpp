#include "connection_guard.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace beckon::sip {

namespace {

// The guard of this thread, if any (the SIP thread's, while it runs).
thread_local ConnectionGuard* tlGuard = nullptr;

// Open files beckond keeps for itself beside the connections (store,
// listeners, log, the SIP thread's pipes and timers).
constexpr unsigned kReservedFiles = 256;
// How long a refusal waits before it checks every connection again (the
// total is full), and how often the timers do.
constexpr auto kFullCheckEvery = std::chrono::milliseconds(200);
constexpr auto kTidyEvery = std::chrono::seconds(5);

std::string addressText(const sockaddr_storage& ss, unsigned* port) {
  char text[INET6_ADDRSTRLEN] = "?";
  *port = 0;
  if (ss.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(ss);
    inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
    *port = ntohs(in.sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(ss);
    *port = ntohs(in6.sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {  // as Sofia names it: the IPv4 address
      inet_ntop(AF_INET, &in6.sin6_addr.s6_addr[12], text, sizeof text);
    } else {
      inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
    }
  }
  return text;
}

std::string keyOf(const std::string& host, unsigned port, unsigned localPort) {
  return host + "|" + std::to_string(port) + "|" + std::to_string(localPort);
}

// Refused at once, with a reset: no FIN handshake, no TIME_WAIT on our side.
void resetAndClose(int fd) {
  const linger reset{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  ::close(fd);
}

using AcceptFn = int (*)(int, sockaddr*, socklen_t*);

AcceptFn realAccept() {
  static const AcceptFn fn = reinterpret_cast<AcceptFn>(dlsym(RTLD_NEXT, "accept"));
  return fn;
}

}  // namespace

ConnectionGuard::ConnectionGuard(const Limits& limits, Metrics* metrics)
    : limits_(limits),
      metrics_(metrics),
      count_(limits.sipConnections, limits.sipConnectionsPerSource) {
  const rlim_t wanted =
      rlim_t(limits.sipConnections) + rlim_t(limits.soapConnections) + kReservedFiles;
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0) return;
  if (files.rlim_cur < wanted) {
    rlimit raised = files;
    raised.rlim_cur = std::min(files.rlim_max, wanted);
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) files = raised;
  }
  if (files.rlim_cur < wanted) {
    // Beyond the open-file limit accept() fails, and Sofia would be woken for
    // the waiting connection again and again: stay below it.
    const rlim_t room = files.rlim_cur > rlim_t(limits.soapConnections) + kReservedFiles + 16
                            ? files.rlim_cur - limits.soapConnections - kReservedFiles
                            : 16;
    const unsigned total = static_cast<unsigned>(std::min<rlim_t>(room, limits.sipConnections));
    spdlog::warn(
        "limits.sip_connections {} and limits.soap_connections {} need {} open files, the limit "
        "is {} (ulimit -n): at most {} SIP connections",
        limits.sipConnections, limits.soapConnections, static_cast<unsigned long long>(wanted),
        static_cast<unsigned long long>(files.rlim_cur), total);
    limits_.sipConnections = total;
    count_ = ConnectionCount(total, std::min(total, limits.sipConnectionsPerSource));
  }
}

ConnectionGuard::~ConnectionGuard() {
  uninstall();
}

void ConnectionGuard::install() {
  tlGuard = this;
}

void ConnectionGuard::uninstall() {
  if (tlGuard == this) tlGuard = nullptr;
}

bool ConnectionGuard::alive(int fd, const Connection& c) const {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == c.inode;
}

void ConnectionGuard::forget(int fd) {
  auto it = byFd_.find(fd);
  if (it == byFd_.end()) return;
  const Connection& c = it->second;
  if (!c.proven && !c.cut) --unproven_;
  count_.release(c.source);
  if (auto k = byKey_.find(c.key); k != byKey_.end() && k->second == fd) byKey_.erase(k);
  if (auto s = fdsBySource_.find(c.source); s != fdsBySource_.end()) {
    s->second.erase(fd);
    if (s->second.empty()) fdsBySource_.erase(s);
  }
  byFd_.erase(it);
}

void ConnectionGuard::forgetClosed(const std::string& source) {
  auto s = fdsBySource_.find(source);
  if (s == fdsBySource_.end()) return;
  std::vector<int> closed;
  for (int fd : s->second) {
    if (!alive(fd, byFd_.at(fd))) closed.push_back(fd);
  }
  for (int fd : closed)
    forget(fd);
}

void ConnectionGuard::forgetAllClosed(Clock::time_point now) {
  lastFullCheck_ = now;
  std::vector<int> closed;
  for (const auto& [fd, c] : byFd_) {
    if (!alive(fd, c)) closed.push_back(fd);
  }
  for (int fd : closed)
    forget(fd);
}

void ConnectionGuard::warn(Throttle& throttle, const std::string& line) {
  const auto held = throttle.pass(Clock::now());
  if (!held) return;
  if (*held) {
    spdlog::warn("sip: {} (and {} more such since the last line)", line, *held);
  } else {
    spdlog::warn("sip: {}", line);
  }
}

bool ConnectionGuard::admit(int fd, const sockaddr_storage& peer) {
  const auto now = Clock::now();
  forget(fd);  // a descriptor we knew was closed, and is now this connection's
  unsigned port = 0;
  const std::string source = addressText(peer, &port);
  auto verdict = count_.admit(source);
  if (verdict == ConnectionCount::Verdict::SourceFull) {
    forgetClosed(source);
    verdict = count_.admit(source);
  }
  if (verdict == ConnectionCount::Verdict::AllFull && now - lastFullCheck_ >= kFullCheckEvery) {
    forgetAllClosed(now);
    verdict = count_.admit(source);
  }
  if (verdict == ConnectionCount::Verdict::SourceFull) {
    count(Metrics::Limit::SipConnectionsPerSource);
    warn(refusals_, "connection from " + source + " refused: it has " +
                        std::to_string(count_.from(source)) +
                        " open (limits.sip_connections_per_source)");
    return false;
  }
  if (verdict == ConnectionCount::Verdict::AllFull) {
    count(Metrics::Limit::SipConnections);
    warn(refusals_, "connection from " + source + " refused: " + std::to_string(count_.total()) +
                        " SIP connections are open (limits.sip_connections)");
    return false;
  }
  Connection c;
  struct stat st {};
  if (::fstat(fd, &st) == 0) c.inode = st.st_ino;
  sockaddr_storage local{};
  socklen_t length = sizeof local;
  unsigned localPort = 0;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0)
    addressText(local, &localPort);
  c.source = source;
  c.key = keyOf(source, port, localPort);
  c.acceptedAt = now;
  byKey_[c.key] = fd;
  fdsBySource_[source].insert(fd);
  byFd_.emplace(fd, std::move(c));
  probation_.emplace_back(now, fd);
  ++unproven_;
  return true;
}

void ConnectionGuard::delivered(nta_agent_t* agent, msg_t* msg) {
  if (unproven_ == 0) return;  // the usual case: nothing to look up
  tport_t* tp = tport_delivered_by(nta_agent_tports(agent), msg);
  if (!tp || !tport_is_stream(tp)) return;
  su_addrinfo_t* ai = msg_addrinfo(msg);
  if (!ai || !ai->ai_addr) return;
  sockaddr_storage peer{};
  std::memcpy(&peer, ai->ai_addr, std::min<std::size_t>(ai->ai_addrlen, sizeof peer));
  unsigned port = 0;
  const std::string host = addressText(peer, &port);
  const tp_name_t* listener = tport_name(tport_parent(tp));
  const unsigned localPort =
      listener && listener->tpn_port ? std::strtoul(listener->tpn_port, nullptr, 10) : 0;
  auto k = byKey_.find(keyOf(host, port, localPort));
  if (k == byKey_.end()) return;
  Connection& c = byFd_.at(k->second);
  if (c.proven || c.cut) return;
  c.proven = true;
  --unproven_;
}

void ConnectionGuard::tick() {
  const auto now = Clock::now();
  while (!probation_.empty() && probation_.front().first + limits_.sipFirstMessage <= now) {
    const auto [acceptedAt, fd] = probation_.front();
    probation_.pop_front();
    auto it = byFd_.find(fd);
    if (it == byFd_.end() || it->second.acceptedAt != acceptedAt) continue;
    Connection& c = it->second;
    if (c.proven || c.cut) continue;
    if (!alive(fd, c)) {
      forget(fd);
      continue;
    }
    // Sofia sees the end of the stream and closes the connection itself.
    count(Metrics::Limit::SipFirstMessage);
    warn(cuts_, "connection from " + c.source + " closed: no whole request within " +
                    std::to_string(limits_.sipFirstMessage.count()) +
                    " ms of connecting (limits.sip_first_message_ms)");
    ::shutdown(fd, SHUT_RDWR);
    c.cut = true;
    --unproven_;
  }
  if (now - lastFullCheck_ >= kTidyEvery) forgetAllClosed(now);
}

std::string DialogConnections::dialogOf(sip_t const* sip) {
  if (!sip || !sip->sip_call_id || !sip->sip_call_id->i_id || !sip->sip_from ||
      !sip->sip_from->a_tag || !sip->sip_to || !sip->sip_to->a_tag) {
    return {};
  }
  std::string a = sip->sip_from->a_tag, b = sip->sip_to->a_tag;
  if (b < a) std::swap(a, b);
  return std::string(sip->sip_call_id->i_id) + '\n' + a + '\n' + b;
}

void DialogConnections::hold(sip_t const* sip, tport_t* connection) {
  if (!connection || tport_is_dgram(connection) || tport_is_closed(connection)) return;
  const std::string dialog = dialogOf(sip);
  if (dialog.empty()) return;
  auto it = held_.find(dialog);
  if (it == held_.end()) {
    if (held_.size() >= kMaxDialogs) {
      if (const auto held = full_.pass(ConnectionGuard::Clock::now())) {
        spdlog::warn("sip: {} dialogs hold their connections, no more are held ({} more such)",
                     held_.size(), *held);
      }
      return;
    }
    it = held_.emplace(dialog, std::vector<tport_t*>{}).first;
  }
  std::vector<tport_t*>& connections = it->second;
  if (std::find(connections.begin(), connections.end(), connection) != connections.end()) return;
  if (connections.size() >= 4) return;  // a caller, a callee, and a few re-targets at most
  connections.push_back(tport_ref(connection));
}

void DialogConnections::release(sip_t const* sip) {
  auto it = held_.find(dialogOf(sip));
  if (it == held_.end()) return;
  for (tport_t* tp : it->second)
    tport_unref(tp);
  held_.erase(it);
}

void DialogConnections::tick() {
  const auto now = ConnectionGuard::Clock::now();
  if (now - lastTidy_ < kTidyEvery) return;
  lastTidy_ = now;
  for (auto it = held_.begin(); it != held_.end();) {
    auto& connections = it->second;
    for (auto c = connections.begin(); c != connections.end();) {
      if (tport_is_closed(*c)) {
        tport_unref(*c);
        c = connections.erase(c);
      } else {
        ++c;
      }
    }
    it = connections.empty() ? held_.erase(it) : std::next(it);
  }
}

void DialogConnections::releaseAll() {
  for (auto& [dialog, connections] : held_) {
    for (tport_t* tp : connections)
      tport_unref(tp);
  }
  held_.clear();
}

}  // namespace beckon::sip

// The C library's accept(), with the SIP thread's guard in between (see
// connection_guard.h). Sofia's listening sockets do not block: a refused
// connection is followed by the next one waiting, and when none is left the
// caller sees EAGAIN, as from an empty queue.
extern "C" int accept(int fd, sockaddr* __restrict addr, socklen_t* __restrict length) {
  const auto real = beckon::sip::realAccept();
  if (!real) {
    errno = ENOSYS;
    return -1;
  }
  beckon::sip::ConnectionGuard* guard = beckon::sip::tlGuard;
  if (!guard) return real(fd, addr, length);
  for (int tries = 0; tries < 64; ++tries) {
    sockaddr_storage peer{};
    socklen_t peerLength = sizeof peer;
    const int s = real(fd, reinterpret_cast<sockaddr*>(&peer), &peerLength);
    if (s < 0) return s;
    if (guard->admit(s, peer)) {
      if (addr && length) {
        std::memcpy(addr, &peer, std::min<socklen_t>(*length, peerLength));
        *length = peerLength;
      }
      return s;
    }
    beckon::sip::resetAndClose(s);
  }
  errno = EAGAIN;
  return -1;
}
