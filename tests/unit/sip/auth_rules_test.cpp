// The rules around digest verification: the limiter of failed attempts per
// source and per user. (The credentials' uri is compared with the
// Request-URI by notifier/sip_uri.h, tested in tests/unit/notifier.)
#include <boost/test/unit_test.hpp>

#include <string>

#include "auth_limiter.h"

using namespace beckon::sip;

BOOST_AUTO_TEST_SUITE(auth_rules)

using std::chrono::seconds;

BOOST_AUTO_TEST_CASE(a_source_is_blocked_after_its_limit_for_the_block_time) {
  AuthLimits l;
  l.sourceFailures = 3;
  l.userFailures = 0;  // off
  l.window = seconds(60);
  l.block = seconds(30);
  AuthFailureLimiter limiter(l);
  beckon::TimePoint t{seconds(1000000)};
  using B = AuthFailureLimiter::Blocked;
  BOOST_TEST((limiter.blocked("192.0.2.1", "alice", t) == B::No));
  BOOST_TEST(!limiter.failed("192.0.2.1", "alice", t).source);
  BOOST_TEST(!limiter.failed("192.0.2.1", "bob", t).source);
  const auto third = limiter.failed("192.0.2.1", "carol", t + seconds(59));
  BOOST_TEST(third.source);  // the one line to log
  BOOST_TEST(!third.user);   // per user: off
  BOOST_TEST((limiter.blocked("192.0.2.1", "anyone", t + seconds(59)) == B::Source));
  BOOST_TEST((limiter.blocked("192.0.2.2", "alice", t + seconds(59)) == B::No));
  BOOST_TEST(!limiter.failed("192.0.2.1", "x", t + seconds(60)).source);  // not counted again
  BOOST_TEST((limiter.blocked("192.0.2.1", "alice", t + seconds(88)) == B::Source));
  BOOST_TEST((limiter.blocked("192.0.2.1", "alice", t + seconds(89)) == B::No));
  // Failures spread wider than the window never block.
  AuthFailureLimiter spread(l);
  for (int i = 0; i < 10; ++i) {
    BOOST_TEST(!spread.failed("192.0.2.3", "a", t + seconds(31 * i)).source);
  }
}

BOOST_AUTO_TEST_CASE(a_user_is_blocked_whatever_the_source) {
  AuthLimits l;
  l.sourceFailures = 0;
  l.userFailures = 2;
  AuthFailureLimiter limiter(l);
  beckon::TimePoint t{seconds(1000000)};
  BOOST_TEST(!limiter.failed("192.0.2.1", "alice", t).user);
  BOOST_TEST(limiter.failed("198.51.100.7", "alice", t).user);
  BOOST_TEST((limiter.blocked("203.0.113.9", "alice", t) == AuthFailureLimiter::Blocked::User));
  BOOST_TEST((limiter.blocked("203.0.113.9", "bob", t) == AuthFailureLimiter::Blocked::No));
}

BOOST_AUTO_TEST_CASE(memory_is_bounded) {
  AuthLimits l;
  l.tracked = 100;
  AuthFailureLimiter limiter(l);
  beckon::TimePoint t{seconds(1000000)};
  for (int i = 0; i < 10000; ++i)
    limiter.failed("s" + std::to_string(i), "u" + std::to_string(i), t);
  BOOST_TEST(limiter.tracked() == 200u);
}

BOOST_AUTO_TEST_CASE(source_keys) {
  BOOST_TEST(sourceKey("192.0.2.1") == "192.0.2.1");
  BOOST_TEST(sourceKey("192.0.2.1:5060") == "192.0.2.1");
  BOOST_TEST(sourceKey("[2001:db8:1:2:3:4:5:6]:5060") == "2001:db8:1:2::/64");
  BOOST_TEST(sourceKey("2001:db8:1:2::9") == "2001:db8:1:2::/64");
  BOOST_TEST(sourceKey("[::1]:5060") == "::/64");
  BOOST_TEST(sourceKey("not an address") == "not an address");
}

BOOST_AUTO_TEST_SUITE_END()
