#include <boost/test/unit_test.hpp>

#include "dialog_keys.h"

using namespace beckon;
using namespace std::chrono_literals;

namespace {

std::array<unsigned char, 32> counting() {
  static unsigned char n = 0;
  std::array<unsigned char, 32> k{};
  k.fill(++n);
  return k;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dialog_keys)

BOOST_AUTO_TEST_CASE(the_first_key_then_a_new_one_each_lifetime_and_the_old_for_one_more) {
  const TimePoint t0{std::chrono::hours(1000)};
  std::vector<DialogKey> keys;
  BOOST_TEST(rotateDialogKeys(keys, t0, 3600s, counting));
  BOOST_TEST_REQUIRE(keys.size() == 1u);
  BOOST_TEST(keys[0].generation == 1u);
  BOOST_TEST(!rotateDialogKeys(keys, t0 + 3599s, 3600s, counting));  // still current
  BOOST_TEST(rotateDialogKeys(keys, t0 + 3600s, 3600s, counting));
  BOOST_TEST_REQUIRE(keys.size() == 2u);
  BOOST_TEST(keys[1].generation == 2u);
  BOOST_TEST((keys[0].secret != keys[1].secret));
  // Generation 1 verifies until one lifetime after generation 2 took over...
  BOOST_TEST(!rotateDialogKeys(keys, t0 + 7199s, 3600s, counting));
  BOOST_TEST(keys.size() == 2u);
  // ...then goes, as generation 3 comes.
  BOOST_TEST(rotateDialogKeys(keys, t0 + 7200s, 3600s, counting));
  BOOST_TEST_REQUIRE(keys.size() == 2u);
  BOOST_TEST(keys[0].generation == 2u);
  BOOST_TEST(keys[1].generation == 3u);
}

BOOST_AUTO_TEST_CASE(a_store_left_long_ago_keeps_only_a_new_key) {
  const TimePoint t0{std::chrono::hours(1000)};
  std::vector<DialogKey> keys;
  rotateDialogKeys(keys, t0, 3600s, counting);
  BOOST_TEST(rotateDialogKeys(keys, t0 + 100h, 3600s, counting));
  BOOST_TEST_REQUIRE(keys.size() == 1u);
  BOOST_TEST(keys[0].generation == 2u);
}

BOOST_AUTO_TEST_CASE(the_operator_adds_one_at_once) {
  const TimePoint t0{std::chrono::hours(1000)};
  std::vector<DialogKey> keys;
  rotateDialogKeys(keys, t0, 3600s, counting);
  addDialogKey(keys, t0 + 1s, counting);
  BOOST_TEST_REQUIRE(keys.size() == 2u);
  BOOST_TEST(!rotateDialogKeys(keys, t0 + 2s, 3600s, counting));  // both stay
}

BOOST_AUTO_TEST_SUITE_END()
