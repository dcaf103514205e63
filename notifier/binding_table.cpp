#include "binding_table.h"

#include <algorithm>
#include <utility>

#include "sip_uri.h"

namespace beckon {

namespace {

void eraseFrom(std::unordered_multimap<std::string, std::uint64_t>& index, const std::string& key,
               std::uint64_t id) {
  auto [first, last] = index.equal_range(key);
  for (auto it = first; it != last; ++it) {
    if (it->second == id) {
      index.erase(it);
      return;
    }
  }
}

void eraseExpiry(std::multimap<TimePoint, std::uint64_t>& byExpiry, TimePoint at,
                 std::uint64_t id) {
  auto [first, last] = byExpiry.equal_range(at);
  for (auto it = first; it != last; ++it) {
    if (it->second == id) {
      byExpiry.erase(it);
      return;
    }
  }
}

}  // namespace

BindingTable::BindingTable(std::size_t expected) {
  bindings_.reserve(expected);
  for (Index* index : {&byInstance_, &byMac_, &byAor_, &byNumber_, &byTempGruu_})
    index->reserve(expected);
}

bool names(const std::vector<DeviceKey>& keys, const Binding& b) {
  return std::any_of(keys.begin(), keys.end(), [&](const DeviceKey& k) {
    switch (k.kind) {
      case DeviceIdKind::Instance:
        return b.instance == k.value;
      case DeviceIdKind::Mac:
        return b.mac == k.value;
      case DeviceIdKind::Aor:
        return b.aor == k.value;
      case DeviceIdKind::DirectoryNumber:
        return directoryNumberOf(b.aor) == k.value;
      case DeviceIdKind::TempGruu:
        return b.tempGruu == k.value;
    }
    return false;
  });
}

BindingTable::Index& BindingTable::index(DeviceIdKind kind) {
  return const_cast<Index&>(std::as_const(*this).index(kind));
}

const BindingTable::Index& BindingTable::index(DeviceIdKind kind) const {
  switch (kind) {
    case DeviceIdKind::Instance:
      return byInstance_;
    case DeviceIdKind::Mac:
      return byMac_;
    case DeviceIdKind::Aor:
      return byAor_;
    case DeviceIdKind::DirectoryNumber:
      return byNumber_;
    case DeviceIdKind::TempGruu:
      return byTempGruu_;
  }
  return byNumber_;
}

void BindingTable::addToIndexes(const Binding& b) {
  byAor_.emplace(b.aor, b.id);
  byNumber_.emplace(directoryNumberOf(b.aor), b.id);
  if (!b.instance.empty()) byInstance_.emplace(b.instance, b.id);
  if (!b.mac.empty()) byMac_.emplace(b.mac, b.id);
  if (!b.tempGruu.empty()) byTempGruu_.emplace(b.tempGruu, b.id);
  if (b.explicitSubscription()) byDialog_.emplace(b.dialogId, b.id);
  byExpiry_.emplace(b.expires, b.id);
  if (b.explicitSubscription()) {
    ++counts_.explicitSubscriptions;
  } else {
    ++counts_.registrations;
    counts_.implicitSubscriptions += b.packages.size();
  }
}

void BindingTable::removeFromIndexes(const Binding& b) {
  eraseFrom(byAor_, b.aor, b.id);
  eraseFrom(byNumber_, directoryNumberOf(b.aor), b.id);
  if (!b.instance.empty()) eraseFrom(byInstance_, b.instance, b.id);
  if (!b.mac.empty()) eraseFrom(byMac_, b.mac, b.id);
  if (!b.tempGruu.empty()) eraseFrom(byTempGruu_, b.tempGruu, b.id);
  if (b.explicitSubscription()) byDialog_.erase(b.dialogId);
  eraseExpiry(byExpiry_, b.expires, b.id);
  if (b.explicitSubscription()) {
    --counts_.explicitSubscriptions;
  } else {
    --counts_.registrations;
    counts_.implicitSubscriptions -= b.packages.size();
  }
}

const Binding* BindingTable::byDialog(const std::string& dialogId) const {
  auto it = byDialog_.find(dialogId);
  return it == byDialog_.end() ? nullptr : get(it->second);
}

const Binding* BindingTable::sameBinding(const Binding& candidate) const {
  if (candidate.explicitSubscription()) return byDialog(candidate.dialogId);
  for (const Binding* b : byAor(candidate.aor)) {
    if (b->explicitSubscription()) continue;
    // RFC 5626 4.2: with an instance, the instance and reg-id name the
    // flow; without, the Contact URI (RFC 3261 10.3, compared as 19.1.4 says).
    const bool same = !candidate.instance.empty()
                          ? b->instance == candidate.instance && b->regId == candidate.regId
                          : b->instance.empty() && sipUriEqual(b->contact, candidate.contact);
    if (same) return b;
  }
  return nullptr;
}

std::uint64_t BindingTable::upsert(Binding binding) {
  if (binding.mac.empty() && !binding.instance.empty()) {
    binding.mac = macOfInstance(binding.instance).value_or("");
  }
  if (const Binding* old = sameBinding(binding)) {
    binding.id = old->id;
    removeFromIndexes(*old);
  } else {
    binding.id = nextId_++;
  }
  const std::uint64_t id = binding.id;
  binding.updated = ++updates_;
  addToIndexes(binding);
  bindings_.insert_or_assign(id, std::move(binding));
  return id;
}

void BindingTable::restore(Binding binding) {
  if (binding.mac.empty() && !binding.instance.empty()) {
    binding.mac = macOfInstance(binding.instance).value_or("");
  }
  nextId_ = std::max(nextId_, binding.id + 1);
  updates_ = std::max(updates_, binding.updated);
  addToIndexes(binding);
  const std::uint64_t id = binding.id;
  bindings_.insert_or_assign(id, std::move(binding));
}

bool BindingTable::remove(std::uint64_t id) {
  auto it = bindings_.find(id);
  if (it == bindings_.end()) return false;
  removeFromIndexes(it->second);
  bindings_.erase(it);
  return true;
}

void BindingTable::markUnreachable(std::uint64_t id) {
  if (auto it = bindings_.find(id); it != bindings_.end()) it->second.unreachable = true;
}

void BindingTable::unsubscribe(std::uint64_t id, const std::string& package) {
  auto it = bindings_.find(id);
  if (it == bindings_.end()) return;
  const std::size_t gone =
      std::erase_if(it->second.packages, [&](const auto& s) { return s.package == package; });
  if (!it->second.explicitSubscription()) counts_.implicitSubscriptions -= gone;
}

const Binding* BindingTable::get(std::uint64_t id) const {
  auto it = bindings_.find(id);
  return it == bindings_.end() ? nullptr : &it->second;
}

std::vector<const Binding*> BindingTable::byAor(const std::string& aor) const {
  return find({{DeviceIdKind::Aor, aor}});
}

std::vector<const Binding*> BindingTable::find(const std::vector<DeviceKey>& keys) const {
  std::vector<const Binding*> found;
  for (const DeviceKey& key : keys) {
    auto [first, last] = index(key.kind).equal_range(key.value);
    for (auto it = first; it != last; ++it)
      found.push_back(&bindings_.at(it->second));
    if (!found.empty()) break;
  }
  // The same order every time (by id: oldest binding first).
  std::sort(found.begin(), found.end(), [](auto* a, auto* b) { return a->id < b->id; });
  return found;
}

std::vector<Binding> BindingTable::expire(TimePoint now) {
  std::vector<Binding> gone;
  while (!byExpiry_.empty() && byExpiry_.begin()->first <= now) {
    const std::uint64_t id = byExpiry_.begin()->second;
    auto it = bindings_.find(id);
    gone.push_back(it->second);
    removeFromIndexes(it->second);
    bindings_.erase(it);
  }
  return gone;
}

}  // namespace beckon
