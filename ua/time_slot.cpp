#include "time_slot.h"

#include <cctype>
#include <ctime>

namespace beckon::ua {

namespace {

using std::chrono::seconds;

class Reader {
 public:
  explicit Reader(const std::string& s) : s_(s) {}
  bool done() const { return i_ == s_.size(); }
  bool peek(char c) const { return i_ < s_.size() && s_[i_] == c; }
  bool take(char c) {
    if (!peek(c)) return false;
    ++i_;
    return true;
  }
  // Exactly n digits.
  bool digits(int n, long& out) {
    out = 0;
    for (int k = 0; k < n; ++k) {
      if (i_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[i_]))) return false;
      out = out * 10 + (s_[i_++] - '0');
    }
    return true;
  }
  // One or more digits (at most 9), optionally with a fraction that is read and dropped.
  bool number(long& out) {
    const std::size_t start = i_;
    out = 0;
    while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_])) && i_ - start < 9)
      out = out * 10 + (s_[i_++] - '0');
    if (i_ == start) return false;
    if (take('.') || take(',')) {
      while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_])))
        ++i_;
    }
    return true;
  }

 private:
  const std::string& s_;
  std::size_t i_ = 0;
};

// YYYY-MM-DDTHH:MM[:SS[.fff]][Z|+HH[:MM]|-HH[:MM]]
std::optional<SystemTime> parseDateTime(const std::string& s) {
  Reader r(s);
  long year, mon, day, hour, min, sec = 0;
  if (!r.digits(4, year) || !r.take('-') || !r.digits(2, mon) || !r.take('-') ||
      !r.digits(2, day) || !(r.take('T') || r.take('t')) || !r.digits(2, hour) || !r.take(':') ||
      !r.digits(2, min))
    return std::nullopt;
  if (r.take(':')) {
    if (!r.digits(2, sec)) return std::nullopt;
    if (r.take('.') || r.take(',')) {
      long frac;
      if (!r.number(frac)) return std::nullopt;
    }
  }
  long offset = 0;
  if (r.take('Z') || r.take('z')) {
  } else if (r.peek('+') || r.peek('-')) {
    const int sign = r.take('-') ? -1 : (r.take('+'), 1);
    long oh, om = 0;
    if (!r.digits(2, oh)) return std::nullopt;
    if (r.take(':') ? !r.digits(2, om) : (!r.done() && !r.digits(2, om))) return std::nullopt;
    offset = sign * (oh * 3600 + om * 60);
  }
  if (!r.done() || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 24 || min > 59 || sec > 60)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = static_cast<int>(year - 1900);
  tm.tm_mon = static_cast<int>(mon - 1);
  tm.tm_mday = static_cast<int>(day);
  tm.tm_hour = static_cast<int>(hour);
  tm.tm_min = static_cast<int>(min);
  tm.tm_sec = static_cast<int>(sec);
  const time_t t = timegm(&tm);
  if (t == static_cast<time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t - offset);
}

// PnW or PnYnMnDTnHnMnS
std::optional<seconds> parseDuration(const std::string& s) {
  Reader r(s);
  if (!(r.take('P') || r.take('p'))) return std::nullopt;
  long total = 0;
  bool any = false, time = false;
  while (!r.done()) {
    if (!time && (r.take('T') || r.take('t'))) {
      time = true;
      continue;
    }
    long n;
    if (!r.number(n)) return std::nullopt;
    long unit;
    if (!time && r.take('Y')) {
      unit = 365 * 86400;
    } else if (!time && r.take('M')) {
      unit = 30 * 86400;
    } else if (!time && r.take('W')) {
      unit = 7 * 86400;
    } else if (!time && r.take('D')) {
      unit = 86400;
    } else if (time && r.take('H')) {
      unit = 3600;
    } else if (time && r.take('M')) {
      unit = 60;
    } else if (time && r.take('S')) {
      unit = 1;
    } else {
      return std::nullopt;
    }
    total += n * unit;
    any = true;
  }
  if (!any) return std::nullopt;
  return seconds(total);
}

}  // namespace

std::optional<TimeSlot> parseTimeSlot(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos || text.find('/', slash + 1) != std::string::npos)
    return std::nullopt;
  const std::string a = text.substr(0, slash), b = text.substr(slash + 1);
  TimeSlot slot;
  if (auto start = parseDateTime(a)) {
    slot.start = *start;
    if (auto end = parseDateTime(b)) {
      slot.end = *end;
    } else if (auto d = parseDuration(b)) {
      slot.end = *start + *d;
    } else {
      return std::nullopt;
    }
  } else if (auto d = parseDuration(a)) {
    auto end = parseDateTime(b);
    if (!end) return std::nullopt;
    slot.end = *end;
    slot.start = *end - *d;
  } else {
    return std::nullopt;
  }
  if (slot.end < slot.start) return std::nullopt;
  return slot;
}

std::optional<SystemTime> callbackTime(const TimeSlot& slot, SystemTime now, double spread) {
  if (now >= slot.end) return std::nullopt;
  const SystemTime from = now > slot.start ? now : slot.start;
  if (spread < 0) spread = 0;
  if (spread > 1) spread = 1;
  const auto span = std::chrono::duration_cast<std::chrono::milliseconds>(slot.end - from);
  return from + std::chrono::milliseconds(static_cast<long long>(span.count() * spread));
}

}  // namespace beckon::ua
