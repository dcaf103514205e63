// Helpers of the configuration tests.
#pragma once

#include <string>

#include "config.h"

namespace beckon::app::test {

// The message a configuration is refused with ("" when it is taken).
inline std::string refusal(const std::string& text) {
  try {
    parseConfig(text, "test.toml");
    return "";
  } catch (const ConfigError& e) {
    return e.what();
  }
}

inline bool starts(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

}  // namespace beckon::app::test
