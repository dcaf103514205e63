// The TOML configuration (app/config.cpp, parseConfig from a string). An
// operator's file is trusted more than a packet, but a typo must still give
// a clear error naming the key: the only exception that may leave
// parseConfig is ConfigError, whose message starts with the key (or the
// source name for TOML syntax errors).
#include <exception>

#include "config.h"
#include "fuzz.h"

using beckon::fuzz::printable;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(beckon::fuzz::asText(data, size));
  // Keys name files to read (certificates, CAs): keep the harness away from
  // devices and pseudo-files that could block or never end.
  for (const char* dir : {"/dev", "/proc", "/sys", "/run"}) {
    if (text.find(dir) != std::string::npos) return 0;
  }
  try {
    const beckon::app::Config c = beckon::app::parseConfig(text, "fuzz.toml");
    FUZZ_CHECK(!c.sip.listen.empty(), "no SIP listen address: %s", printable(text).c_str());
    for (const auto& spec : c.sip.listen)
      (void)beckon::sip::listenUrl(spec);  // checked: must not throw now
  } catch (const beckon::app::ConfigError& e) {
    const std::string what = e.what();
    FUZZ_CHECK(what.find(": ") != std::string::npos && what.find(": ") > 0,
               "ConfigError without a key: %s", printable(what).c_str());
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, "parseConfig threw %s for %s", printable(e.what()).c_str(),
               printable(text).c_str());
  }
  return 0;
}
