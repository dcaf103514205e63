// Forking plans (repro's three models), RFC 3261 16.7's best response, and
// the URI check of the configuration.
#include <boost/test/unit_test.hpp>

#include "forking.h"

using namespace beckon::sip;
using Plan = std::vector<std::vector<std::size_t>>;

BOOST_AUTO_TEST_SUITE(forking)

BOOST_AUTO_TEST_CASE(parallel_rings_everything_at_once_best_q_first) {
  BOOST_TEST((forkPlan(ForkMode::Parallel, {0.5f, 1.0f, 0.7f}) == Plan{{1, 2, 0}}));
}

BOOST_AUTO_TEST_CASE(sequential_rings_one_after_another_by_q) {
  BOOST_TEST((forkPlan(ForkMode::Sequential, {0.5f, 1.0f, 0.7f}) == Plan{{1}, {2}, {0}}));
}

BOOST_AUTO_TEST_CASE(equal_q_keeps_the_given_order) {
  // The proxy puts the most recently registered binding (or the first listed
  // member) first: equal q-values keep that order.
  BOOST_TEST((forkPlan(ForkMode::Sequential, {1.0f, 1.0f, 1.0f}) == Plan{{0}, {1}, {2}}));
  BOOST_TEST((forkPlan(ForkMode::QValue, {1.0f, 1.0f, 1.0f}) == Plan{{0, 1, 2}}));
}

BOOST_AUTO_TEST_CASE(q_value_mode_rings_equal_q_together_groups_by_decreasing_q) {
  BOOST_TEST(
      (forkPlan(ForkMode::QValue, {0.5f, 1.0f, 0.5f, 0.8f, 1.0f}) == Plan{{1, 4}, {3}, {0, 2}}));
}

BOOST_AUTO_TEST_CASE(q_values_compare_to_the_thousandth) {
  BOOST_TEST((forkPlan(ForkMode::QValue, {0.3f, 0.1f + 0.2f}) == Plan{{0, 1}}));
  BOOST_TEST((forkPlan(ForkMode::QValue, {0.301f, 0.3f}) == Plan{{0}, {1}}));
}

BOOST_AUTO_TEST_CASE(no_targets_no_plan) {
  BOOST_TEST(forkPlan(ForkMode::Parallel, {}).empty());
  BOOST_TEST(forkPlan(ForkMode::Sequential, {}).empty());
  BOOST_TEST(forkPlan(ForkMode::QValue, {}).empty());
}

BOOST_AUTO_TEST_CASE(fork_modes_by_name) {
  BOOST_TEST((forkModeFrom("parallel") == ForkMode::Parallel));
  BOOST_TEST((forkModeFrom("sequential") == ForkMode::Sequential));
  BOOST_TEST((forkModeFrom("q") == ForkMode::QValue));
  BOOST_TEST(!forkModeFrom("Parallel").has_value());
  BOOST_TEST(!forkModeFrom("").has_value());
  for (ForkMode m : {ForkMode::Parallel, ForkMode::Sequential, ForkMode::QValue})
    BOOST_TEST((forkModeFrom(toString(m)) == m));
}

BOOST_AUTO_TEST_CASE(a_6xx_wins_over_everything) {
  BOOST_TEST(bestResponse({486, 603, 302}) == 1u);
  BOOST_TEST(bestResponse({600, 603}) == 0u);
}

BOOST_AUTO_TEST_CASE(else_the_lowest_class_first_received) {
  BOOST_TEST(bestResponse({503, 486, 302, 404}) == 2u);
  BOOST_TEST(bestResponse({503, 486, 404}) == 1u);
  BOOST_TEST(bestResponse({500, 503}) == 0u);
}

BOOST_AUTO_TEST_CASE(challenges_and_corrections_preferred_among_4xx) {
  BOOST_TEST(bestResponse({486, 407}) == 1u);
  BOOST_TEST(bestResponse({404, 401, 407}) == 1u);
  BOOST_TEST(bestResponse({480, 484}) == 1u);
  BOOST_TEST(bestResponse({480, 415, 420}) == 1u);
  // ...but not over a lower class.
  BOOST_TEST(bestResponse({407, 302}) == 1u);
}

BOOST_AUTO_TEST_CASE(busy_and_no_answer) {
  BOOST_TEST(isBusy(486));
  BOOST_TEST(isBusy(600));
  BOOST_TEST(!isBusy(603));
  BOOST_TEST(isNoAnswer(408));
  BOOST_TEST(isNoAnswer(480));
  BOOST_TEST(isNoAnswer(487));
  BOOST_TEST(!isNoAnswer(486));
}

BOOST_AUTO_TEST_CASE(sip_uris) {
  BOOST_TEST(isSipUri("sip:vm@example.com"));
  BOOST_TEST(isSipUri("sips:bob@example.com"));
  BOOST_TEST(isSipUri("sip:vm@10.0.0.5:5070;transport=tcp"));
  BOOST_TEST(isSipUri("sip:[::1]:5060"));
  BOOST_TEST(isSipUri("sip:example.com"));
  BOOST_TEST(!isSipUri("tel:+15551234"));
  BOOST_TEST(!isSipUri("sip:"));
  BOOST_TEST(!isSipUri("sip:@example.com"));
  BOOST_TEST(!isSipUri("sip:bob@"));
  BOOST_TEST(!isSipUri("sip:bob@example.com>"));
  BOOST_TEST(!isSipUri("sip:bob @example.com"));
  BOOST_TEST(!isSipUri("<sip:bob@example.com>"));
}

BOOST_AUTO_TEST_SUITE_END()
