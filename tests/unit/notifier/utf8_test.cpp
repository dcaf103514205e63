#include <boost/test/unit_test.hpp>

#include "utf8.h"

BOOST_AUTO_TEST_SUITE(utf8)

BOOST_AUTO_TEST_CASE(well_formed_text_is_valid) {
  BOOST_TEST(beckon::validUtf8(""));
  BOOST_TEST(beckon::validUtf8("sip:alice@example.com"));
  BOOST_TEST(beckon::validUtf8("\xce\xb1\xcf\x80 \xe2\x82\xac \xf0\x9f\x98\x80"));
  BOOST_TEST(beckon::validUtf8(std::string("a\0b", 3)));  // NUL is a character
}

BOOST_AUTO_TEST_CASE(every_kind_of_bad_sequence_is_found) {
  for (const char* bad : {"\xc3\x28", "\xff", "a\xe9", "\xe2\x82", "\xc0\xaf", "\xed\xa0\x80",
                          "\xf4\x90\x80\x80", "\x80", "\xf0\x9f\x98"}) {
    BOOST_TEST_CONTEXT(bad) {
      BOOST_TEST(!beckon::validUtf8(bad));
    }
  }
}

BOOST_AUTO_TEST_CASE(escaping_keeps_characters_and_names_each_bad_byte) {
  std::string out;
  beckon::appendUtf8Escaped(out, "\xce\xb1<sip:\xc3\x28@h>\xff");
  BOOST_TEST(out == "\xce\xb1<sip:\\xc3(@h>\\xff");
  BOOST_TEST(beckon::validUtf8(out));
}

BOOST_AUTO_TEST_SUITE_END()
