// beckond's log: spdlog on stderr through one logging thread, plain text or
// one JSON object per line (time, level, thread, msg, and every key=value of
// the message as a member: see notifier/logfmt.h).
#pragma once

#include <spdlog/common.h>

#include <string>
#include <string_view>

namespace beckon::app {

// Throws std::invalid_argument for an unknown level or format.
void setUpLogging(const std::string& level, const std::string& format);
void setLogLevel(const std::string& level);
// Writes out what is queued; call before exit.
void stopLogging();

// The JSON members of one message: "msg":"<text>", then ,"key":"value" for
// each key=value in it (the first of each key; time, level, thread and msg
// stay in the text). Exposed for the tests.
void appendJsonFields(spdlog::memory_buf_t& dest, std::string_view msg);

}  // namespace beckon::app
