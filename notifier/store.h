// The core's Store: what must survive a restart or a crash (contract:
// "Running it"): bindings and subscriptions, contact requests queued or
// recently ended, and the time since which beckond has been accessible
// (sip-core.md, "Surviving its own restart"). store/ implements it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "binding.h"
#include "clock.h"
#include "contact_request.h"
#include "dialog_keys.h"

namespace beckon {

// What changes while a contact request is handled.
struct RequestProgress {
  RequestState state = RequestState::Queued;
  std::vector<Delivery> deliveries;
  TimePoint nextAttempt;
  TimePoint endedAt;  // when final
  unsigned rounds = 0;
  bool cancelled = false;                // cancelled while NOTIFYs were out
  std::vector<std::uint64_t> refusedBy;  // bindings that refused it with a 4xx
};

// A contact request as the core keeps it, without its listeners.
struct RequestRecord {
  // The store's key for it: the core numbers requests as it first saves
  // them, and never reuses a number that is in the store.
  std::uint64_t id = 0;
  std::string appServer;
  ContactMeParams params;
  TimePoint createdAt;
  TimePoint queueUntil;
  RequestProgress progress;
};

// Everything a store held at its last commit.
struct StoredState {
  std::vector<Binding> bindings;  // without flows and dialogs: sip/ rebuilds them
  std::vector<RequestRecord> requests;
  std::optional<TimePoint> accessibleSince;  // of the previous run
  std::vector<DialogKey> dialogKeys;         // the proxy's, oldest first
};

// Writes are queued and return at once; they are committed in the order
// they were made, in groups, off the core's thread. Called on the core's
// thread only.
class Store {
 public:
  virtual ~Store() = default;

  virtual void saveBinding(const Binding& binding) = 0;
  virtual void removeBinding(std::uint64_t id) = 0;
  // A request not saved before: all of it.
  virtual void saveRequest(RequestRecord request) = 0;
  // A request saved before: only what changes (its parameters never do).
  virtual void updateRequest(std::uint64_t id, RequestProgress progress) = 0;
  virtual void removeRequest(std::uint64_t id) = 0;
  virtual void setAccessibleSince(TimePoint since) = 0;
  // All of the proxy's dialog keys (a secret: see docs/operator-guide.md).
  virtual void saveDialogKeys(const std::vector<DialogKey>& keys) = 0;
  // `done` runs on the core's thread once everything written before this
  // call is committed (true), or could not be (false: the write failed).
  virtual void afterCommit(std::function<void(bool committed)> done) = 0;
  // As afterCommit, but `done` runs on the store's own thread as soon as the
  // commit ends, one trip through the core's thread sooner. For a caller that
  // only hands the outcome to a waiting thread: `done` must not touch the core.
  virtual void whenCommitted(std::function<void(bool committed)> done) = 0;
};

}  // namespace beckon
