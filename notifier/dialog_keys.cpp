#include "dialog_keys.h"

#include <algorithm>

namespace beckon {

void addDialogKey(std::vector<DialogKey>& keys, TimePoint now, const KeyBytes& random) {
  const std::uint32_t next = keys.empty() ? 1 : keys.back().generation + 1;
  keys.push_back({next, random(), now});
}

bool rotateDialogKeys(std::vector<DialogKey>& keys, TimePoint now, std::chrono::seconds lifetime,
                      const KeyBytes& random) {
  std::sort(keys.begin(), keys.end(),
            [](const DialogKey& a, const DialogKey& b) { return a.generation < b.generation; });
  bool changed = false;
  if (keys.empty() || now - keys.back().created >= lifetime || keys.back().created > now) {
    addDialogKey(keys, now, random);
    changed = true;
  }
  // An older key signed for at most one lifetime (a running beckond rotates
  // then, a starting one too): it verifies for one more, then goes.
  for (std::size_t i = 0; i + 1 < keys.size();) {
    if (now - keys[i].created >= 2 * lifetime) {
      keys.erase(keys.begin() + static_cast<std::ptrdiff_t>(i));
      changed = true;
    } else {
      ++i;
    }
  }
  return changed;
}

}  // namespace beckon
