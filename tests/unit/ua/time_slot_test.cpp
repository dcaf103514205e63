#include <boost/test/unit_test.hpp>

#include "time_slot.h"

using namespace beckon::ua;
using namespace std::chrono;

namespace {

SystemTime at(long long unixSeconds) {
  return SystemTime(seconds(unixSeconds));
}

constexpr long long k10h = 1795255200;  // 2026-11-21T10:00:00Z

}  // namespace

BOOST_AUTO_TEST_SUITE(time_slot)

BOOST_AUTO_TEST_CASE(the_three_forms) {
  auto s = parseTimeSlot("2026-11-21T10:00:00Z/PT5M");
  BOOST_REQUIRE(s);
  BOOST_TEST((s->start == at(k10h)));
  BOOST_TEST((s->end == at(k10h + 300)));
  s = parseTimeSlot("2026-11-21T10:00:00Z/2026-11-21T11:30:00Z");
  BOOST_REQUIRE(s);
  BOOST_TEST((s->end == at(k10h + 5400)));
  s = parseTimeSlot("PT1H/2026-11-21T10:00:00Z");
  BOOST_REQUIRE(s);
  BOOST_TEST((s->start == at(k10h - 3600)));
  s = parseTimeSlot("2026-11-21T11:00:00+01:00/P1DT2H3M4S");
  BOOST_REQUIRE(s);
  BOOST_TEST((s->start == at(k10h)));
  BOOST_TEST((s->end == at(k10h + 86400 + 7384)));
  s = parseTimeSlot("2026-11-21T10:00:00.250Z/P1W");
  BOOST_REQUIRE(s);
  BOOST_TEST((s->end == at(k10h + 7 * 86400)));
}

BOOST_AUTO_TEST_CASE(not_intervals) {
  for (const char* bad :
       {"", "2026-11-21T10:00:00Z", "PT5M", "2026-11-21/PT5M", "2026-11-21T10:00:00Z/PT",
        "2026-13-21T10:00:00Z/PT5M", "2026-11-21T10:00:00Z/2026-11-21T09:00:00Z", "PT5M/PT5M",
        "2026-11-21T10:00:00Z/PT5M/x", "2026-11-21T10:00:00X/PT5M"})
    BOOST_TEST(!parseTimeSlot(bad).has_value(), bad);
}

BOOST_AUTO_TEST_CASE(when_to_call_back) {
  const TimeSlot slot{at(k10h), at(k10h + 100)};
  BOOST_TEST((*callbackTime(slot, at(k10h - 50), 0) == at(k10h)));         // not before the start
  BOOST_TEST((*callbackTime(slot, at(k10h - 50), 0.5) == at(k10h + 50)));  // spread over the slot
  BOOST_TEST((*callbackTime(slot, at(k10h + 60), 0.5) == at(k10h + 80)));  // over what is left
  BOOST_TEST(!callbackTime(slot, at(k10h + 100), 0).has_value());          // over
}

BOOST_AUTO_TEST_SUITE_END()
