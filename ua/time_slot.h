// The `time-slot` of a contact-me request: an ISO 8601 time interval in
// which the device is to call back (start/end, start/duration or
// duration/end; times in UTC with "Z" or with an offset, a time without
// one taken as UTC; durations PnW or PnYnMnDTnHnMnS, a year counted as 365
// days and a month as 30).
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace beckon::ua {

using SystemTime = std::chrono::system_clock::time_point;

struct TimeSlot {
  SystemTime start;
  SystemTime end;
};

// nullopt when `text` is not such an interval or ends before it starts.
std::optional<TimeSlot> parseTimeSlot(const std::string& text);

// When to call back for a slot, seen at `now`: a moment in what is left of
// the slot, `spread` (0..1) of the way through it (devices pick it at random
// so that those woken together do not all call at once). nullopt when the
// slot is over.
std::optional<SystemTime> callbackTime(const TimeSlot& slot, SystemTime now, double spread);

}  // namespace beckon::ua
