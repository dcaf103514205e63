#include <boost/test/unit_test.hpp>

#include "printers.h"

#include "binding_table.h"
#include "device_id.h"

using namespace beckon;

BOOST_AUTO_TEST_SUITE(device_id)

BOOST_AUTO_TEST_CASE(mac_written_three_ways_is_one_mac) {
  BOOST_TEST(normaliseMac("00:04:f2:a1:b2:c3").value() == "0004f2a1b2c3");
  BOOST_TEST(normaliseMac("00-04-F2-A1-B2-C3").value() == "0004f2a1b2c3");
  BOOST_TEST(normaliseMac("0004f2a1b2c3").value() == "0004f2a1b2c3");
  BOOST_TEST(normaliseMac("0004F2A1B2C3").value() == "0004f2a1b2c3");
}

BOOST_AUTO_TEST_CASE(not_a_mac) {
  BOOST_TEST(!normaliseMac("00:04:f2:a1:b2"));
  BOOST_TEST(!normaliseMac("00:04-f2:a1:b2:c3"));  // mixed separators
  BOOST_TEST(!normaliseMac("0004f2a1b2cg"));       // not hex
  BOOST_TEST(!normaliseMac("00:04:f2:a1:b2:c3:d4"));
  BOOST_TEST(!normaliseMac(""));
}

BOOST_AUTO_TEST_CASE(instance_as_in_contact_and_as_written_by_servers) {
  const std::string want = "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6";
  BOOST_TEST(normaliseInstance("\"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>\"").value() ==
             want);
  BOOST_TEST(normaliseInstance("<urn:uuid:F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6>").value() == want);
  BOOST_TEST(normaliseInstance("URN:UUID:f81d4fae-7dec-11d0-a765-00a0c91e6bf6").value() == want);
  BOOST_TEST(normaliseInstance("<urn:dev:mac:0004F2A1B2C3>").value() == "urn:dev:mac:0004f2a1b2c3");
  BOOST_TEST(!normaliseInstance("sip:alice@example.com"));
  BOOST_TEST(!normaliseInstance("urn:"));
  BOOST_TEST(!normaliseInstance("<urn:uuid:a b>"));
}

BOOST_AUTO_TEST_CASE(mac_of_time_based_uuid_and_dev_mac) {
  // Version 1 UUID: the node field is the MAC (RFC 4122 4.1.6).
  BOOST_TEST(macOfInstance("urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6").value() ==
             "00a0c91e6bf6");
  BOOST_TEST(macOfInstance("urn:dev:mac:0004f2a1b2c3").value() == "0004f2a1b2c3");
  // Version 4 (random) UUIDs carry no MAC.
  BOOST_TEST(!macOfInstance("urn:uuid:f81d4fae-7dec-41d0-a765-00a0c91e6bf6"));
  BOOST_TEST(!macOfInstance("urn:uuid:not-a-uuid"));
}

BOOST_AUTO_TEST_CASE(address_of_record) {
  BOOST_TEST(normaliseAor("sip:7546658000@Example.COM").value() == "sip:7546658000@example.com");
  BOOST_TEST(normaliseAor("sips:7546658000@example.com;transport=tls").value() ==
             "sip:7546658000@example.com");
  BOOST_TEST(normaliseAor("\"Alice\" <sip:Alice@example.com:5070>").value() ==
             "sip:Alice@example.com:5070");
  BOOST_TEST(normaliseAor("sip:alice:secret@example.com").value() == "sip:alice@example.com");
  BOOST_TEST(!normaliseAor("sip:example.com"));
  BOOST_TEST(!normaliseAor("tel:+15551234"));
  // Found by fuzz_device_id: the result was "sip:a<@example.com", which
  // itself did not normalise (every normal form must be a fixed point).
  BOOST_TEST(!normaliseAor("\"A\" <sip:a<:pw@example.com>"));
  BOOST_TEST(!normaliseAor("sip:a\"b@example.com"));
  BOOST_TEST(directoryNumberOf("sip:7546658000@example.com") == "7546658000");
}

BOOST_AUTO_TEST_CASE(how_a_request_names_a_device) {
  using K = DeviceIdKind;
  auto keys = lookupKeys("<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>");
  BOOST_TEST_REQUIRE(keys.size() == 2u);
  BOOST_TEST((keys[0] == DeviceKey{K::Instance, "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"}));
  BOOST_TEST((keys[1] == DeviceKey{K::Mac, "00a0c91e6bf6"}));

  keys = lookupKeys("sip:7546658000@example.com");
  BOOST_TEST_REQUIRE(keys.size() == 1u);
  BOOST_TEST((keys[0] == DeviceKey{K::Aor, "sip:7546658000@example.com"}));

  keys = lookupKeys("00-04-F2-A1-B2-C3");
  BOOST_TEST_REQUIRE(keys.size() == 1u);
  BOOST_TEST((keys[0] == DeviceKey{K::Mac, "0004f2a1b2c3"}));

  // Twelve digits: a MAC first, then a directory number.
  keys = lookupKeys("754665800012");
  BOOST_TEST_REQUIRE(keys.size() == 2u);
  BOOST_TEST((keys[0] == DeviceKey{K::Mac, "754665800012"}));
  BOOST_TEST((keys[1] == DeviceKey{K::DirectoryNumber, "754665800012"}));

  keys = lookupKeys("7546658000");
  BOOST_TEST_REQUIRE(keys.size() == 1u);
  BOOST_TEST((keys[0] == DeviceKey{K::DirectoryNumber, "7546658000"}));

  BOOST_TEST(lookupKeys("").empty());
  BOOST_TEST(lookupKeys("sip:nohost").empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(gruu)

BOOST_AUTO_TEST_CASE(a_public_gruu_names_its_instance) {
  using K = DeviceIdKind;
  auto keys = lookupKeys("sip:100@example.com;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
  BOOST_TEST_REQUIRE(keys.size() == 1u);
  BOOST_TEST((keys[0] == DeviceKey{K::Instance, "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"}));
  keys = lookupKeys("<sip:100@example.com;gr=urn%3Auuid%3Af81d4fae-7dec-11d0-a765-00a0c91e6bf6>");
  BOOST_TEST_REQUIRE(keys.size() == 1u);
  BOOST_TEST(keys[0].value == "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
}

// Found by fuzz_device_id: "%zz" made std::stoi throw out of lookupKeys
// (a ContactMe then got "internal error" instead of InvalidArgument).
BOOST_AUTO_TEST_CASE(a_gruu_with_broken_escapes_is_taken_as_written) {
  BOOST_TEST(lookupKeys("sip:100@example.com;gr=%zzurn:a:b%-1%3").empty());
  const auto keys = lookupKeys("sip:100@example.com;gr=urn:x:%2541%zz");
  BOOST_TEST_REQUIRE(keys.size() == 1u);
  BOOST_TEST(keys[0].value == "urn:x:%41%zz");  // undone once only
}

BOOST_AUTO_TEST_CASE(a_temporary_gruu_names_its_binding) {
  auto keys = lookupKeys("sip:tgruu.0123456789abcdef@example.com;gr");
  BOOST_TEST_REQUIRE(keys.size() == 1u);
  BOOST_TEST((keys[0] == DeviceKey{DeviceIdKind::TempGruu, "tgruu.0123456789abcdef"}));
  BindingTable t;
  Binding b;
  b.aor = "sip:100@example.com";
  b.contact = "sip:100@127.0.0.2:5999";
  b.instance = "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6";
  b.tempGruu = "tgruu.0123456789abcdef";
  b.expires = TimePoint::max();
  const auto id = t.upsert(b);
  BOOST_TEST(t.find(keys).size() == 1u);
  BOOST_TEST(t.find(keys)[0]->id == id);
}

BOOST_AUTO_TEST_CASE(outbound_flows_of_one_instance_are_bindings_of_their_own) {
  BindingTable t;
  Binding b;
  b.aor = "sip:100@example.com";
  b.contact = "sip:100@127.0.0.2:5999";
  b.instance = "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6";
  b.expires = TimePoint::max();
  b.regId = "1";
  const auto first = t.upsert(b);
  b.regId = "2";
  const auto second = t.upsert(b);
  BOOST_TEST(first != second);
  b.regId = "1";
  BOOST_TEST(t.upsert(b) == first);
  BOOST_TEST(t.size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
