// The keys that sign the proxy's Record-Route tokens (sip/route_token.h),
// kept in the store so that a restart or a crash of beckond breaks no
// dialog it proxied (sip-core.md, "Surviving its own restart"). Each key has
// a generation, named in every token it signs. The newest signs for
// `lifetime` from its making; then a new one is made, and the older stays
// valid until it is two lifetimes old (a dialog set up under it goes on),
// then is dropped: its tokens are unknown.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "clock.h"

namespace beckon {

struct DialogKey {
  std::uint32_t generation = 0;
  std::array<unsigned char, 32> secret{};
  TimePoint created;
  bool operator==(const DialogKey&) const = default;
};

using KeyBytes = std::function<std::array<unsigned char, 32>()>;

// Brings `keys` (newest last) up to date at `now`: a new key when there is
// none or the newest is `lifetime` old; the others that are two lifetimes
// old dropped. True when they changed (then they must be stored before the new
// one signs anything).
bool rotateDialogKeys(std::vector<DialogKey>& keys, TimePoint now, std::chrono::seconds lifetime,
                      const KeyBytes& random);

// A new key now, whatever the age of the newest (the operator's rotation).
void addDialogKey(std::vector<DialogKey>& keys, TimePoint now, const KeyBytes& random);

}  // namespace beckon
