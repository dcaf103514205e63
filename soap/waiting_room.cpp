#include "waiting_room.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace beckon::soap {

namespace {

constexpr std::size_t kTlsRecordHeader = 5;
constexpr unsigned char kTlsHandshake = 0x16;
// The largest TLS record (2^14 plus the most a record may expand).
constexpr std::size_t kTlsRecordMax = kTlsRecordHeader + 16384 + 2048;

void setLowWater(SOAP_SOCKET s, int bytes) {
  (void)::setsockopt(s, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof bytes);
}

}  // namespace

bool readyForWorker(std::string_view peeked, bool tls, std::size_t limit) {
  if (tls) {
    if (peeked.empty()) return false;
    if (static_cast<unsigned char>(peeked[0]) != kTlsHandshake) return true;
    if (peeked.size() < kTlsRecordHeader) return false;
    const std::size_t length =
        static_cast<unsigned char>(peeked[3]) << 8 | static_cast<unsigned char>(peeked[4]);
    return peeked.size() >= kTlsRecordHeader + length;
  }
  if (peeked.find("\r\n\r\n") != std::string_view::npos) return true;
  return peeked.size() > limit;
}

WaitingRoom::WaitingRoom(bool tls, std::chrono::milliseconds timeout, std::size_t limit)
    : tls_(tls), timeout_(timeout), limit_(limit), buffer_(std::max(limit + 1, kTlsRecordMax)) {}

WaitingRoom::~WaitingRoom() {
  for (Guest& g : guests_)
    soap_closesocket(g.a.socket);
}

void WaitingRoom::add(Accepted a) {
  guests_.push_back({std::move(a), 0});
}

WaitingRoom::Look WaitingRoom::look(Guest& g, bool peerDone) {
  const ssize_t n = ::recv(g.a.socket, buffer_.data(), buffer_.size(), MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return Look::Gone;
  if (n < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? Look::Waiting : Look::Gone;
  const auto size = static_cast<std::size_t>(n);
  // A peer that has shut its side down sends nothing more: what came is
  // the whole request, for a worker to answer (400) now, not at the timeout
  // (and poll() would report the end at once, again and again, meanwhile).
  if (peerDone || readyForWorker({buffer_.data(), size}, tls_, limit_) || size >= buffer_.size()) {
    setLowWater(g.a.socket, 1);  // the worker reads as usual
    return Look::Ready;
  }
  // Woken again only when more than this has come (or the peer closes):
  // what is there stays unread, and would wake poll() at once otherwise.
  g.peeked = size;
  setLowWater(g.a.socket, static_cast<int>(size + 1));
  return Look::Waiting;
}

WaitingRoom::Outcome WaitingRoom::wait(SOAP_SOCKET listener, std::chrono::milliseconds wait) {
  Outcome out;
  auto now = Clock::now();
  for (const Guest& g : guests_) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(g.a.acceptedAt + timeout_ - now);
    wait = std::max(std::chrono::milliseconds(0), std::min(wait, left));
  }
  std::vector<pollfd> fds;
  fds.reserve(guests_.size() + 1);
  fds.push_back({listener, POLLIN, 0});
  for (const Guest& g : guests_)
    fds.push_back({g.a.socket, POLLIN | POLLRDHUP, 0});
  const int n = ::poll(fds.data(), fds.size(), static_cast<int>(wait.count()));
  now = Clock::now();
  out.incoming = n > 0 && (fds[0].revents & POLLIN);
  std::vector<Guest> staying;
  staying.reserve(guests_.size());
  for (std::size_t i = 0; i < guests_.size(); ++i) {
    Guest& g = guests_[i];
    Look seen = Look::Waiting;
    const short revents = n > 0 ? fds[i + 1].revents : 0;
    if (revents) seen = look(g, revents & (POLLRDHUP | POLLHUP | POLLERR));
    if (seen == Look::Ready) {
      out.ready.push_back(std::move(g.a));
    } else if (seen == Look::Gone) {
      out.gone.push_back(std::move(g.a));
    } else if (now >= g.a.acceptedAt + timeout_) {
      out.expired.push_back(std::move(g.a));
    } else {
      staying.push_back(std::move(g));
    }
  }
  guests_.swap(staying);
  return out;
}

std::vector<Accepted> WaitingRoom::takeAll() {
  std::vector<Accepted> all;
  for (Guest& g : guests_)
    all.push_back(std::move(g.a));
  guests_.clear();
  return all;
}

}  // namespace beckon::soap
