#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <string>

#include "report.h"

using namespace beckon::ua;

BOOST_AUTO_TEST_SUITE(report)

BOOST_AUTO_TEST_CASE(text_lines) {
  Event e = Event::object();
  e["request_id"] = "r1";
  e["ok"] = true;
  e["status"] = 200;
  e["reason"] = "two words";
  e["urls"] = Event::array({"http://a/", "http://b/"});
  e["attempts"] = Event::array(
      {Event{{"url", "http://a/"}, {"status", 0}}, Event{{"url", "http://b/"}, {"status", 200}}});
  e["none"] = nullptr;
  BOOST_TEST(Reporter::text("callback", e) ==
             "callback request_id=r1 ok=true status=200 reason=\"two words\" "
             "urls=http://a/,http://b/ attempts=http://a/(failed),http://b/(200)");
}

BOOST_AUTO_TEST_CASE(json_lines_start_with_event_and_time) {
  char buf[512] = "";
  std::FILE* f = fmemopen(buf, sizeof buf, "w");
  BOOST_REQUIRE(f);
  {
    Reporter r(true, f);
    r.emit("notify", {{"request_id", "r1"}});
  }
  std::fclose(f);
  const auto j = Event::parse(std::string(buf));
  BOOST_TEST(j.begin().key() == "event");
  BOOST_TEST(j["event"] == "notify");
  BOOST_TEST(j["request_id"] == "r1");
  BOOST_TEST(j["time"].get<std::string>().size() == 24u);  // 2026-11-21T10:00:00.000Z
}

BOOST_AUTO_TEST_SUITE_END()
