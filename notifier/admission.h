// What beckond admits, at most ([limits] in the configuration), and the pure
// bookkeeping that applies it: token buckets per key with bounded memory,
// and connections counted per source and in all. sip/ and soap/ apply them
// to sockets and messages; the core to its queue of requests.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace beckon {

struct Limits {
  // SIP messages. Larger ones get 413 (Sofia's answer; TCP/TLS: then the
  // connection is closed, as its framing is lost).
  std::size_t sipMaxMessageBytes = 65535;
  unsigned sipMaxHeaders = 128;         // header field values of a request: more gets 513
  unsigned sipMaxContacts = 10;         // Contacts of one REGISTER: more gets 403
  unsigned bindingsPerAor = 10;         // registrations of one address of record: 503 + Retry-After
  unsigned subscriptionsPerDevice = 8;  // explicit subscriptions of one device: the same
  // REGISTER and SUBSCRIBE per address of record (after authentication):
  // `aorRate` a second, bursts of `aorBurst`; over it 503 + Retry-After.
  double aorRate = 1.0;
  unsigned aorBurst = 20;
  std::size_t aorTracked = 100000;  // buckets kept at most (the least recently used go)
  // SIP connections (TCP and TLS): more are closed as they are accepted.
  unsigned sipConnections = 8192;
  unsigned sipConnectionsPerSource = 256;
  // A new connection must bring a whole request within this; else it is closed.
  std::chrono::milliseconds sipFirstMessage{20000};
  // An incomplete message that gets no byte for this long: 400, connection closed.
  std::chrono::milliseconds sipMessageTimeout{10000};
  // A connection no registration or subscription uses, idle for this long, is closed.
  std::chrono::milliseconds sipIdle{60000};
  // SOAP connections: more are closed as they are accepted.
  unsigned soapConnections = 256;
  unsigned soapConnectionsPerSource = 32;
  // One SOAP request (its header and body), from its first byte: whatever
  // the pace of its bytes, it is cut off after this.
  std::chrono::milliseconds soapRequestTimeout{10000};
  // A new SOAP connection must bring its whole HTTP header (over HTTPS, its
  // TLS ClientHello first) within this of being accepted; until then it
  // waits without a worker, and past it it is reset.
  std::chrono::milliseconds soapHeaderTimeout{5000};
  // ContactMe requests accepted and not yet ended (queued or being notified):
  // past either, a new request is an Overloaded fault.
  std::size_t queuedRequests = 100000;
  std::size_t queuedRequestsPerAppServer = 10000;

  bool operator==(const Limits&) const = default;
};

// A token bucket: `rate` tokens a second, holding at most `burst`. Time
// comes from the caller; time going backwards adds nothing.
class TokenBucket {
 public:
  using Clock = std::chrono::system_clock;
  TokenBucket(double rate, double burst, Clock::time_point now)
      : rate_(rate), burst_(burst), tokens_(burst), last_(now) {}

  // Takes a token if there is one.
  bool take(Clock::time_point now);
  // How long until a token is there (zero when there is one now).
  std::chrono::milliseconds wait(Clock::time_point now) const;
  // Whether it has refilled: a fresh bucket would behave the same.
  bool full(Clock::time_point now) const;

 private:
  double level(Clock::time_point now) const;
  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

// A token bucket per key (an address of record), with bounded memory: a
// bucket that has refilled is forgotten (a fresh one would act the same),
// and past `maxKeys` the least recently used goes. Not thread-safe.
class KeyedRateLimiter {
 public:
  using Clock = TokenBucket::Clock;
  KeyedRateLimiter(double rate, unsigned burst, std::size_t maxKeys);

  // Lets one request for `key` through, or says how long to wait for the next.
  // rate 0: no limit.
  std::optional<std::chrono::milliseconds> take(const std::string& key, Clock::time_point now);
  std::size_t size() const { return buckets_.size(); }

 private:
  struct Entry {
    TokenBucket bucket;
    std::list<std::string>::iterator use;  // its place in uses_
  };
  double rate_;
  double burst_;
  std::size_t maxKeys_;
  std::unordered_map<std::string, Entry> buckets_;
  std::list<std::string> uses_;  // most recently used first
};

// Open connections counted per source address and in all. Not thread-safe.
class ConnectionCount {
 public:
  ConnectionCount(unsigned total, unsigned perSource) : total_(total), perSource_(perSource) {}

  enum class Verdict { Admitted, SourceFull, AllFull };
  // Counts a new connection from `source` unless a limit is reached.
  Verdict admit(const std::string& source);
  void release(const std::string& source);

  std::size_t total() const { return count_; }
  unsigned from(const std::string& source) const;
  unsigned totalLimit() const { return total_; }
  unsigned perSourceLimit() const { return perSource_; }

 private:
  unsigned total_;
  unsigned perSource_;
  std::size_t count_ = 0;
  std::unordered_map<std::string, unsigned> bySource_;
};

// Reports of a refusal that can come in a flood: one a period (a second) at
// most, with how many were held back since the last one.
class Throttle {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Throttle(std::chrono::milliseconds every = std::chrono::seconds(1)) : every_(every) {}
  // nullopt: hold this one back; else report it, with the number held back before.
  std::optional<std::size_t> pass(Clock::time_point now);

 private:
  std::chrono::milliseconds every_;
  std::optional<Clock::time_point> last_;
  std::size_t held_ = 0;
};

// Retry-After for a request refused because existing registrations or
// subscriptions fill a limit: until the first of them ends, at least 1 s and
// at most 600 s (a device is not sent away for an hour).
std::chrono::seconds retryAfterFirstExpiry(
    const std::vector<std::chrono::system_clock::time_point>& expiries,
    std::chrono::system_clock::time_point now);

// Whole seconds for a Retry-After header: rounded up, at least 1.
unsigned retryAfterSeconds(std::chrono::milliseconds wait);

}  // namespace beckon
