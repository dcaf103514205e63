// The binding table and its device-id index: every binding is found by its
// address of record, directory number, instance id and MAC address.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "binding.h"
#include "device_id.h"

namespace beckon {

// Whether any of the keys names this binding.
bool names(const std::vector<DeviceKey>& keys, const Binding& b);

class BindingTable {
 public:
  // `expected`: how many bindings to make room for at once. The indexes grow
  // past it, but each growth rehashes every index on the SIP thread in one go.
  explicit BindingTable(std::size_t expected = 1 << 17);

  // Inserts a binding, or replaces the one of the same address of record that
  // it updates (same instance id, else same Contact URI; a subscription: the
  // same dialog). Returns its id.
  std::uint64_t upsert(Binding binding);
  // Puts back a binding saved by a previous run, with its id and update
  // order (ids given later follow it). No binding may have its id yet.
  void restore(Binding binding);
  bool remove(std::uint64_t id);
  // The binding's flow is dead: requests pass it by until it is registered again.
  void markUnreachable(std::uint64_t id);
  // Ends the binding's subscription to `package` (a 481 to a NOTIFY).
  void unsubscribe(std::uint64_t id, const std::string& package);

  const Binding* get(std::uint64_t id) const;
  const Binding* byDialog(const std::string& dialogId) const;
  // The binding of `aor` that `candidate` would update, if any.
  const Binding* sameBinding(const Binding& candidate) const;
  std::vector<const Binding*> byAor(const std::string& aor) const;
  // Every binding a device id names (already normalised keys, in lookup order:
  // the first key that names any binding wins).
  std::vector<const Binding*> find(const std::vector<DeviceKey>& keys) const;

  // Removes the bindings whose expiry is at or before `now`, returning them.
  std::vector<Binding> expire(TimePoint now);

  std::size_t size() const { return bindings_.size(); }
  // For the metrics: registrations (bindings that are not explicit
  // subscriptions), their package subscriptions, and explicit subscriptions.
  struct Counts {
    std::size_t registrations = 0;
    std::size_t implicitSubscriptions = 0;
    std::size_t explicitSubscriptions = 0;
  };
  const Counts& counts() const { return counts_; }

 private:
  using Index = std::unordered_multimap<std::string, std::uint64_t>;
  Index& index(DeviceIdKind kind);
  const Index& index(DeviceIdKind kind) const;
  void addToIndexes(const Binding& b);
  void removeFromIndexes(const Binding& b);

  std::uint64_t nextId_ = 1;
  std::uint64_t updates_ = 0;
  std::unordered_map<std::uint64_t, Binding> bindings_;
  Index byInstance_, byMac_, byAor_, byNumber_, byTempGruu_;
  std::unordered_map<std::string, std::uint64_t> byDialog_;
  std::multimap<TimePoint, std::uint64_t> byExpiry_;
  Counts counts_;
};

}  // namespace beckon
