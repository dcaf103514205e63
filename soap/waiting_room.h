// The SOAP listener's waiting room: a connection just accepted waits here,
// on the accept thread and without a worker, until what it sent is worth a
// worker's time: its whole HTTP request header (over HTTPS: its whole TLS
// ClientHello record), or more than a header may be (the worker answers
// 431). Past limits.soap_header_timeout_ms of waiting it is reset. So a
// peer that opens connections and sends nothing, or a byte a second, holds
// only a descriptor (bounded by [limits] soap_connections*), never one of
// the few workers that application servers need.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "stdsoap2.h"

namespace beckon::soap {

// A connection the listener accepted.
struct Accepted {
  SOAP_SOCKET socket = SOAP_INVALID_SOCKET;
  sockaddr_storage peer{};
  std::size_t peerLength = 0;
  std::string source;  // the peer's address, as counted in [limits] soap_connections*
  std::chrono::steady_clock::time_point acceptedAt{};
};

// Whether the first bytes of a connection (peeked, not read) are enough to
// hand it to a worker: an HTTP header up to its empty line, or (tls) a whole
// TLS record (the ClientHello); anything that is not a TLS handshake record
// at once (the worker's handshake refuses it). `limit`: more than this many
// bytes without an end is enough too (the worker refuses it).
bool readyForWorker(std::string_view peeked, bool tls, std::size_t limit);

class WaitingRoom {
 public:
  using Clock = std::chrono::steady_clock;
  // `limit`: the largest HTTP header (beyond it the worker answers 431).
  WaitingRoom(bool tls, std::chrono::milliseconds timeout, std::size_t limit);
  ~WaitingRoom();
  WaitingRoom(const WaitingRoom&) = delete;
  WaitingRoom& operator=(const WaitingRoom&) = delete;

  void add(Accepted a);

  struct Outcome {
    bool incoming = false;          // the listening socket has a connection to accept
    std::vector<Accepted> ready;    // for a worker (SO_RCVLOWAT back to 1)
    std::vector<Accepted> expired;  // waited past the timeout: the caller resets them
    std::vector<Accepted> gone;     // closed by the peer before: the caller closes them
  };
  // Waits at most `wait` for `listener` or a guest to have news.
  Outcome wait(SOAP_SOCKET listener, std::chrono::milliseconds wait);

  // Everyone still waiting (the listener stops): the caller closes them.
  std::vector<Accepted> takeAll();
  std::size_t size() const { return guests_.size(); }

 private:
  struct Guest {
    Accepted a;
    std::size_t peeked = 0;
  };
  enum class Look { Waiting, Ready, Gone };
  // peerDone: the peer has shut its side down (POLLRDHUP, POLLHUP).
  Look look(Guest& g, bool peerDone);

  const bool tls_;
  const std::chrono::milliseconds timeout_;
  const std::size_t limit_;
  std::vector<Guest> guests_;
  std::vector<char> buffer_;
};

}  // namespace beckon::soap
