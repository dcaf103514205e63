// Device identifiers (notifier/device_id.h), as they come from devices
// (+sip.instance, To/From URIs) and from application servers (deviceId).
// Beyond not crashing: no exception escapes, and every normal form is a
// fixed point (a device stored under norm(x) is found again by norm(x), e.g.
// when an application server sends back the id GetDevice gave it).
#include <cctype>
#include <exception>

#include "device_id.h"
#include "fuzz.h"

using beckon::fuzz::printable;

namespace {

bool lowerHex12(const std::string& s) {
  if (s.size() != 12) return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c)) ||
        std::isupper(static_cast<unsigned char>(c)))
      return false;
  }
  return true;
}

void check(std::string_view text) {
  if (const auto mac = beckon::normaliseMac(text)) {
    FUZZ_CHECK(lowerHex12(*mac), "normaliseMac(%s) = %s", printable(text).c_str(), mac->c_str());
    FUZZ_CHECK(beckon::normaliseMac(*mac) == mac, "normaliseMac not idempotent on %s",
               printable(text).c_str());
  }
  if (const auto instance = beckon::normaliseInstance(text)) {
    FUZZ_CHECK(instance->starts_with("urn:"), "instance %s", printable(*instance).c_str());
    const auto again = beckon::normaliseInstance(*instance);
    FUZZ_CHECK(again == instance, "normaliseInstance(%s) = %s, then %s", printable(text).c_str(),
               printable(*instance).c_str(), again ? printable(*again).c_str() : "none");
    if (const auto mac = beckon::macOfInstance(*instance)) {
      FUZZ_CHECK(lowerHex12(*mac), "macOfInstance(%s) = %s", printable(*instance).c_str(),
                 printable(*mac).c_str());
    }
    // An instance id given as deviceId names that instance.
    const auto keys = beckon::lookupKeys(*instance);
    FUZZ_CHECK(!keys.empty() && keys[0].kind == beckon::DeviceIdKind::Instance &&
                   keys[0].value == *instance,
               "lookupKeys(%s) does not name the instance", printable(*instance).c_str());
  }
  if (const auto aor = beckon::normaliseAor(text)) {
    FUZZ_CHECK(aor->starts_with("sip:") && aor->find('@') != std::string::npos, "aor %s",
               printable(*aor).c_str());
    const auto again = beckon::normaliseAor(*aor);
    FUZZ_CHECK(again == aor, "normaliseAor(%s) = %s, then %s", printable(text).c_str(),
               printable(*aor).c_str(), again ? printable(*again).c_str() : "none");
    (void)beckon::directoryNumberOf(*aor);
  }
  for (const auto& key : beckon::lookupKeys(text)) {
    FUZZ_CHECK(!key.value.empty(), "lookupKeys(%s) gave an empty %s key", printable(text).c_str(),
               beckon::toString(key.kind));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = beckon::fuzz::asText(data, size);
  try {
    check(text);
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, "exception on %s: %s", printable(text).c_str(), e.what());
  }
  return 0;
}
