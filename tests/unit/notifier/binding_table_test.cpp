#include <boost/test/unit_test.hpp>

#include "printers.h"

#include "binding_table.h"

using namespace beckon;

namespace {

TimePoint t0() {
  return TimePoint{} + std::chrono::hours(1000);
}

Binding binding(std::string aor, std::string contact, std::string instance = "",
                int expiresIn = 3600) {
  Binding b;
  b.aor = std::move(aor);
  b.contact = std::move(contact);
  b.instance = std::move(instance);
  b.expires = t0() + std::chrono::seconds(expiresIn);
  return b;
}

const std::string kInst = "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6";

}  // namespace

BOOST_AUTO_TEST_SUITE(binding_table)

BOOST_AUTO_TEST_CASE(found_by_every_identifier) {
  BindingTable t;
  const auto id = t.upsert(binding("sip:7546658000@example.com", "sip:a@127.0.0.2:5999", kInst));
  auto only = [&](std::string_view deviceId) {
    auto found = t.find(lookupKeys(deviceId));
    return found.size() == 1 && found[0]->id == id;
  };
  BOOST_TEST(only("<urn:uuid:F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6>"));
  BOOST_TEST(only("00:a0:c9:1e:6b:f6"));
  BOOST_TEST(only("00A0C91E6BF6"));
  BOOST_TEST(only("sip:7546658000@EXAMPLE.com"));
  BOOST_TEST(only("7546658000"));
  BOOST_TEST(t.find(lookupKeys("7546658001")).empty());
}

BOOST_AUTO_TEST_CASE(aor_names_every_device_instance_names_one) {
  BindingTable t;
  t.upsert(binding("sip:100@example.com", "sip:100@127.0.0.2:5999",
                   "urn:uuid:00000000-0000-4000-8000-000000000001"));
  t.upsert(binding("sip:100@example.com", "sip:100@127.0.0.2:6000",
                   "urn:uuid:00000000-0000-4000-8000-000000000002"));
  BOOST_TEST(t.find(lookupKeys("sip:100@example.com")).size() == 2u);
  BOOST_TEST(t.find(lookupKeys("100")).size() == 2u);
  BOOST_TEST(t.find(lookupKeys("urn:uuid:00000000-0000-4000-8000-000000000002")).size() == 1u);
}

BOOST_AUTO_TEST_CASE(refresh_replaces_same_instance_or_same_contact) {
  BindingTable t;
  const auto a = t.upsert(binding("sip:100@example.com", "sip:100@127.0.0.2:5999", kInst));
  // Same instance from another address (the device moved): the same binding.
  const auto b = t.upsert(binding("sip:100@example.com", "sip:100@127.0.0.3:7000", kInst));
  BOOST_TEST(a == b);
  BOOST_TEST(t.size() == 1u);
  BOOST_TEST(t.get(a)->contact == "sip:100@127.0.0.3:7000");
  // Without an instance, the Contact URI tells bindings apart.
  const auto c = t.upsert(binding("sip:100@example.com", "sip:100@127.0.0.4:7000"));
  const auto d = t.upsert(binding("sip:100@example.com", "sip:100@127.0.0.4:7000"));
  BOOST_TEST(c == d);
  BOOST_TEST(c != a);
  BOOST_TEST(t.size() == 2u);
}

BOOST_AUTO_TEST_CASE(removed_and_expired_bindings_leave_every_index) {
  BindingTable t;
  const auto a = t.upsert(binding("sip:100@example.com", "sip:100@127.0.0.2:5999", kInst, 60));
  const auto b = t.upsert(binding("sip:200@example.com", "sip:200@127.0.0.2:5999", "", 120));
  BOOST_TEST(t.remove(b));
  BOOST_TEST(!t.remove(b));
  BOOST_TEST(t.find(lookupKeys("200")).empty());

  BOOST_TEST(t.expire(t0() + std::chrono::seconds(59)).empty());
  auto gone = t.expire(t0() + std::chrono::seconds(60));
  BOOST_TEST_REQUIRE(gone.size() == 1u);
  BOOST_TEST(gone[0].id == a);
  BOOST_TEST(t.size() == 0u);
  for (const char* id : {"100", "sip:100@example.com", "00a0c91e6bf6",
                         "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"}) {
    BOOST_TEST(t.find(lookupKeys(id)).empty(), id);
  }
}

BOOST_AUTO_TEST_CASE(refresh_moves_the_expiry) {
  BindingTable t;
  t.upsert(binding("sip:100@example.com", "sip:100@127.0.0.2:5999", "", 60));
  t.upsert(binding("sip:100@example.com", "sip:100@127.0.0.2:5999", "", 600));
  BOOST_TEST(t.expire(t0() + std::chrono::seconds(61)).empty());
  BOOST_TEST(t.expire(t0() + std::chrono::seconds(600)).size() == 1u);
}

BOOST_AUTO_TEST_CASE(unsubscribe_drops_one_package) {
  BindingTable t;
  Binding b = binding("sip:100@example.com", "sip:100@127.0.0.2:5999");
  b.packages = {{"application-server-contact-me", BodyFormat::Text, true},
                {"other", BodyFormat::Xml, true}};
  const auto id = t.upsert(b);
  t.unsubscribe(id, "application-server-contact-me");
  BOOST_TEST(!t.get(id)->subscription("application-server-contact-me"));
  BOOST_TEST(t.get(id)->subscription("other"));
}

BOOST_AUTO_TEST_SUITE_END()
