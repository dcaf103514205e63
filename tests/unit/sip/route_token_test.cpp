// Flow tokens in our Record-Route: both flows back, nothing from a token
// that is not ours, for another ftag, or tampered with.
#include <boost/test/unit_test.hpp>

#include <ostream>

#include "route_token.h"

using namespace beckon;
using namespace beckon::sip;

namespace beckon::sip {
std::ostream& operator<<(std::ostream& os, const FlowAddress& f) {
  return os << toString(f.transport) << ":" << f.host << ":" << f.port;
}
}  // namespace beckon::sip

namespace {

std::vector<DialogKey> key(unsigned char seed, std::uint32_t generation = 1) {
  DialogKey k;
  k.generation = generation;
  k.secret.fill(seed);
  return {k};
}

const DialogFlows kFlows{{Transport::Udp, "192.0.2.7", 5060},
                         {Transport::Tcp, "2001:db8::5", 40112}};

}  // namespace

BOOST_AUTO_TEST_SUITE(route_token)

BOOST_AUTO_TEST_CASE(both_flows_come_back) {
  const RouteTokens tokens(key(1));
  const std::string t = tokens.encode(kFlows, "abc123");
  BOOST_TEST(t.front() == 'b');
  // A user part made of letters, digits and dots only.
  BOOST_TEST(t.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.") == std::string::npos);
  const auto back = tokens.decode(t, "abc123");
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(back->caller == kFlows.caller);
  BOOST_TEST(back->callee == kFlows.callee);
}

BOOST_AUTO_TEST_CASE(a_callee_reached_by_uri_has_no_flow) {
  const RouteTokens tokens(key(1));
  const DialogFlows flows{{Transport::Tls, "198.51.100.1", 5061}, {}};
  const auto back = tokens.decode(tokens.encode(flows, ""), "");
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(back->caller == flows.caller);
  BOOST_TEST(back->callee.empty());
}

BOOST_AUTO_TEST_CASE(another_ftag_another_key_or_a_changed_token_is_refused) {
  const RouteTokens tokens(key(1));
  const std::string t = tokens.encode(kFlows, "abc123");
  BOOST_TEST(!tokens.decode(t, "abc124").has_value());
  BOOST_TEST(!RouteTokens(key(2)).decode(t, "abc123").has_value());
  std::string changed = t;
  changed[5] = changed[5] == '0' ? '1' : '0';  // another caller address
  BOOST_TEST(!tokens.decode(changed, "abc123").has_value());
  BOOST_TEST(!tokens.decode("bob", "abc123").has_value());
  BOOST_TEST(!tokens.decode("", "").has_value());
  BOOST_TEST(!tokens.decode("b..", "").has_value());
}

BOOST_AUTO_TEST_CASE(only_numeric_addresses) {
  const RouteTokens tokens(key(1));
  BOOST_TEST(tokens.encode({{Transport::Udp, "phone.example.com", 5060}, {}}, "x").empty());
}

BOOST_AUTO_TEST_CASE(two_processes_two_keys) {
  BOOST_TEST(RouteTokens().encode(kFlows, "t") != RouteTokens().encode(kFlows, "t"));
}

BOOST_AUTO_TEST_CASE(a_token_names_its_generation_and_outlives_a_rotation) {
  RouteTokens tokens(key(1, 7));
  const std::string old = tokens.encode(kFlows, "f");
  BOOST_TEST(old.rfind("b7.", 0) == 0);
  // Rotated: the newest signs, the older still verifies.
  std::vector<DialogKey> both = key(1, 7);
  both.push_back(key(2, 8).front());
  tokens.setKeys(both);
  const std::string fresh = tokens.encode(kFlows, "f");
  BOOST_TEST(fresh.rfind("b8.", 0) == 0);
  BOOST_TEST(tokens.decode(old, "f").has_value());
  BOOST_TEST(tokens.decode(fresh, "f").has_value());
  // The same keys in another process (read back from the store): the same answer.
  BOOST_TEST(RouteTokens(both).decode(old, "f").has_value());
  // Generation 7 dropped: its tokens are unknown.
  tokens.setKeys(key(2, 8));
  BOOST_TEST(!tokens.decode(old, "f").has_value());
  // A generation named falsely: the MAC is checked with that generation's key.
  std::string relabelled = old;
  relabelled[1] = '8';
  BOOST_TEST(!tokens.decode(relabelled, "f").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
