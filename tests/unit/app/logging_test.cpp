// JSON log lines: every key=value of a message becomes a member.
#include <boost/test/unit_test.hpp>

#include "logfmt.h"
#include "logging.h"

using beckon::quoted;

namespace {

std::string fields(std::string_view msg) {
  spdlog::memory_buf_t out;
  beckon::app::appendJsonFields(out, msg);
  return std::string(out.data(), out.size());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(logging)

BOOST_AUTO_TEST_CASE(key_values_become_members) {
  BOOST_TEST(fields("notify request=r1 status=200 reason=OK") ==
             R"("msg":"notify request=r1 status=200 reason=OK","request":"r1","status":"200",)"
             R"("reason":"OK")");
}

BOOST_AUTO_TEST_CASE(quoted_values_are_unescaped_then_json_escaped) {
  const std::string msg =
      fmt::format("notify reason={} contact={} empty={} x={}", quoted("Busy \"Here\" \\ now"),
                  quoted("sip:a@b"), quoted(""), quoted("tab\there\nnew"));
  BOOST_TEST(msg == R"(notify reason="Busy \"Here\" \\ now" contact=sip:a@b empty="" )"
                    R"(x="tab\there\nnew")");
  BOOST_TEST(fields(msg) ==
             R"("msg":"notify reason=\"Busy \\\"Here\\\" \\\\ now\" contact=sip:a@b empty=\"\" )"
             R"(x=\"tab\\there\\nnew\"","reason":"Busy \"Here\" \\ now","contact":"sip:a@b",)"
             R"("empty":"","x":"tab\u0009here\u000anew")");
}

BOOST_AUTO_TEST_CASE(words_reserved_and_repeated_keys_stay_in_the_text) {
  BOOST_TEST(fields("soap: call a=1 (b=2) msg=x level=y a=3 =4 c=") ==
             R"("msg":"soap: call a=1 (b=2) msg=x level=y a=3 =4 c=","a":"1","c":"")");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(logging_utf8)

BOOST_AUTO_TEST_CASE(every_line_is_valid_utf8) {
  // "Busy" in Greek (UTF-8), then a Latin-1 byte, a truncated sequence, an
  // overlong "/" and a surrogate: each bad byte becomes the text \xNN.
  const std::string msg =
      "notify reason=\xce\xb1\xcf\x80 x=a\xe9 y=\xe2\x82 z=\xc0\xaf w=\xed\xa0\x80";
  BOOST_TEST(fields(msg) ==
             "\"msg\":\"notify reason=\xce\xb1\xcf\x80 x=a\\\\xe9 y=\\\\xe2\\\\x82 "
             "z=\\\\xc0\\\\xaf w=\\\\xed\\\\xa0\\\\x80\",\"reason\":\"\xce\xb1\xcf\x80\","
             "\"x\":\"a\\\\xe9\",\"y\":\"\\\\xe2\\\\x82\",\"z\":\"\\\\xc0\\\\xaf\","
             "\"w\":\"\\\\xed\\\\xa0\\\\x80\"");
}

BOOST_AUTO_TEST_SUITE_END()
