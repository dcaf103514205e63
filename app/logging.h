// beckond's log: spdlog on stderr, plain text or one JSON object per line.
#pragma once

#include <string>

namespace beckon::app {

// Throws std::invalid_argument for an unknown level or format.
void setUpLogging(const std::string& level, const std::string& format);
void setLogLevel(const std::string& level);
// Writes out what is queued; call before exit.
void stopLogging();

}  // namespace beckon::app
