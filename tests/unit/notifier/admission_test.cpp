#include <boost/test/unit_test.hpp>

#include "admission.h"

using namespace beckon;
using namespace std::chrono_literals;

namespace {

using SysClock = std::chrono::system_clock;
const SysClock::time_point t0 = SysClock::time_point{} + 24h * 365 * 56;

}  // namespace

BOOST_AUTO_TEST_SUITE(token_bucket)

BOOST_AUTO_TEST_CASE(burst_then_rate) {
  TokenBucket b(2.0, 3.0, t0);  // 2 a second, 3 at once
  for (int i = 0; i < 3; ++i)
    BOOST_TEST(b.take(t0));
  BOOST_TEST(!b.take(t0));
  BOOST_TEST(b.wait(t0).count() == 500);  // one token in half a second
  BOOST_TEST(!b.take(t0 + 499ms));
  BOOST_TEST(b.take(t0 + 500ms));
  BOOST_TEST(!b.take(t0 + 500ms));
  // never more than the burst, however long it waited
  BOOST_TEST(b.full(t0 + 1h));
  for (int i = 0; i < 3; ++i)
    BOOST_TEST(b.take(t0 + 1h));
  BOOST_TEST(!b.take(t0 + 1h));
}

BOOST_AUTO_TEST_CASE(time_going_back_adds_nothing) {
  TokenBucket b(1.0, 1.0, t0);
  BOOST_TEST(b.take(t0));
  BOOST_TEST(!b.take(t0 - 10s));
  BOOST_TEST(!b.take(t0 + 999ms));  // the clock went back: no token for the gap
  BOOST_TEST(b.take(t0 + 1s));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(keyed_rate_limiter)

BOOST_AUTO_TEST_CASE(per_key) {
  KeyedRateLimiter l(1.0, 2, 100);
  BOOST_TEST(!l.take("a", t0));
  BOOST_TEST(!l.take("a", t0));
  const auto wait = l.take("a", t0);
  BOOST_REQUIRE(wait.has_value());
  BOOST_TEST(wait->count() == 1000);
  BOOST_TEST(retryAfterSeconds(*wait) == 1u);
  // another key is not limited by it
  BOOST_TEST(!l.take("b", t0));
  BOOST_TEST(!l.take("a", t0 + 1s).has_value());
}

BOOST_AUTO_TEST_CASE(rate_zero_is_no_limit) {
  KeyedRateLimiter l(0.0, 1, 10);
  for (int i = 0; i < 100; ++i)
    BOOST_TEST(!l.take("a", t0).has_value());
  BOOST_TEST(l.size() == 0u);
}

BOOST_AUTO_TEST_CASE(refilled_buckets_are_forgotten) {
  KeyedRateLimiter l(1.0, 2, 1000);
  for (int i = 0; i < 100; ++i)
    l.take("k" + std::to_string(i), t0);
  BOOST_TEST(l.size() == 100u);
  // two seconds later every bucket has refilled: each call drops two
  for (int i = 0; i < 60; ++i)
    l.take("fresh", t0 + 2s + std::chrono::milliseconds(i));
  BOOST_TEST(l.size() <= 2u);
}

BOOST_AUTO_TEST_CASE(bounded_memory_evicts_least_recently_used) {
  KeyedRateLimiter l(1.0, 1, 3);
  BOOST_TEST(!l.take("a", t0));
  BOOST_TEST(!l.take("b", t0));
  BOOST_TEST(!l.take("c", t0));
  BOOST_TEST(l.take("a", t0).has_value());  // "a" empty, now the most recently used
  BOOST_TEST(!l.take("d", t0));             // full of busy keys: "b" goes
  BOOST_TEST(l.size() == 3u);
  BOOST_TEST(l.take("a", t0).has_value());  // "a" was kept
  BOOST_TEST(!l.take("b", t0));             // "b" starts afresh
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(connection_count)

BOOST_AUTO_TEST_CASE(per_source_and_in_all) {
  ConnectionCount c(5, 2);
  using V = ConnectionCount::Verdict;
  BOOST_TEST((c.admit("10.0.0.1") == V::Admitted));
  BOOST_TEST((c.admit("10.0.0.1") == V::Admitted));
  BOOST_TEST((c.admit("10.0.0.1") == V::SourceFull));
  BOOST_TEST((c.admit("10.0.0.2") == V::Admitted));
  BOOST_TEST((c.admit("10.0.0.2") == V::Admitted));
  BOOST_TEST((c.admit("10.0.0.3") == V::Admitted));
  BOOST_TEST((c.admit("10.0.0.4") == V::AllFull));
  BOOST_TEST(c.total() == 5u);
  BOOST_TEST(c.from("10.0.0.1") == 2u);
  c.release("10.0.0.1");
  BOOST_TEST(c.from("10.0.0.1") == 1u);
  BOOST_TEST((c.admit("10.0.0.4") == V::Admitted));
  // releasing what was never counted changes nothing
  c.release("192.0.2.1");
  BOOST_TEST(c.total() == 5u);
  for (const char* s : {"10.0.0.1", "10.0.0.2", "10.0.0.2", "10.0.0.3", "10.0.0.4"})
    c.release(s);
  BOOST_TEST(c.total() == 0u);
  BOOST_TEST(c.from("10.0.0.2") == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(retry_after)

BOOST_AUTO_TEST_CASE(until_the_first_expiry_bounded) {
  BOOST_TEST(retryAfterFirstExpiry({t0 + 90s, t0 + 30s, t0 + 3600s}, t0).count() == 30);
  BOOST_TEST(retryAfterFirstExpiry({t0 + 1500ms}, t0).count() == 2);  // rounded up
  BOOST_TEST(retryAfterFirstExpiry({t0 - 5s}, t0).count() == 1);      // at least 1
  BOOST_TEST(retryAfterFirstExpiry({t0 + 86400s}, t0).count() == 600);
  BOOST_TEST(retryAfterFirstExpiry({}, t0).count() == 1);
  BOOST_TEST(retryAfterSeconds(0ms) == 1u);
  BOOST_TEST(retryAfterSeconds(1001ms) == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(throttle)

BOOST_AUTO_TEST_CASE(one_a_period_with_the_count_held_back) {
  Throttle t(1000ms);
  const auto s0 = Throttle::Clock::time_point{} + 1h;
  BOOST_TEST(t.pass(s0).value() == 0u);
  BOOST_TEST(!t.pass(s0 + 10ms).has_value());
  BOOST_TEST(!t.pass(s0 + 999ms).has_value());
  BOOST_TEST(t.pass(s0 + 1000ms).value() == 2u);
  BOOST_TEST(t.pass(s0 + 5s).value() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
