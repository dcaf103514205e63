#include "report.h"

#include <chrono>
#include <ctime>

namespace beckon::ua {

namespace {

bool plain(const std::string& s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (c <= ' ' || c == '"' || c == '\\' || c >= 0x7f) return false;
  }
  return true;
}

// JSON text of a value; bytes that are not UTF-8 (a peer's reason phrase,
// a NOTIFY body may hold any) become U+FFFD instead of an exception.
std::string dumped(const Event& v) {
  return v.dump(-1, ' ', false, Event::error_handler_t::replace);
}

std::string textValue(const Event& v) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    return plain(s) ? s : dumped(Event(s));
  }
  if (v.is_array()) {
    std::string out;
    for (const auto& item : v) {
      if (!out.empty()) out += ',';
      if (item.is_string()) {
        out += item.get<std::string>();
      } else if (item.is_object() && item.contains("url")) {  // a callback attempt
        const auto status = item.value("status", 0L);
        out += item["url"].get<std::string>() + "(" +
               (status ? std::to_string(status) : std::string("failed")) + ")";
      } else {
        out += dumped(item);
      }
    }
    return plain(out) ? out : dumped(Event(out));
  }
  return dumped(v);
}

}  // namespace

std::string isoNow() {
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[40];
  const auto n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(text + n, sizeof text - n, ".%03dZ", static_cast<int>(ms));
  return text;
}

std::string Reporter::text(const std::string& event, const Event& fields) {
  std::string line = event;
  for (const auto& [key, value] : fields.items()) {
    if (value.is_null()) continue;
    if (value.is_array() && value.empty()) continue;
    line += ' ';
    line += key;
    line += '=';
    line += textValue(value);
  }
  return line;
}

void Reporter::emit(const std::string& event, const Event& fields) {
  std::string line;
  if (json_) {
    Event out = Event::object();
    out["event"] = event;
    out["time"] = isoNow();
    for (const auto& [key, value] : fields.items())
      out[key] = value;
    line = dumped(out);
  } else {
    line = text(event, fields);
  }
  std::lock_guard lock(mutex_);
  std::fputs(line.c_str(), out_);
  std::fputc('\n', out_);
  std::fflush(out_);
}

}  // namespace beckon::ua
