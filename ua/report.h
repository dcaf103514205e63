// beckon-ua's output: one line per event on stdout, "EVENT key=value ..."
// or, with --json, one JSON object per line (docs/beckon-ua.md lists them).
// Thread-safe: the callback worker reports from its own thread.
#pragma once

#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

namespace beckon::ua {

using Event = nlohmann::ordered_json;

class Reporter {
 public:
  explicit Reporter(bool json, std::FILE* out = stdout) : json_(json), out_(out) {}

  // `fields` is an object; "event" and "time" are put first.
  void emit(const std::string& event, const Event& fields = Event::object());

  // The text form of one event (no newline).
  static std::string text(const std::string& event, const Event& fields);

 private:
  bool json_;
  std::FILE* out_;
  std::mutex mutex_;
};

// Now as "2026-11-21T10:00:00.123Z".
std::string isoNow();

}  // namespace beckon::ua
