#include <boost/test/unit_test.hpp>

#include "sdp.h"

using namespace beckon::ua;

BOOST_AUTO_TEST_SUITE(sdp)

BOOST_AUTO_TEST_CASE(offer_has_one_audio_stream_with_pcmu_and_pcma) {
  const std::string offer = sdpOffer("127.0.0.1", 42);
  BOOST_TEST(offer.find("c=IN IP4 127.0.0.1\r\n") != std::string::npos);
  BOOST_TEST(offer.find("m=audio 9 RTP/AVP 0 8\r\n") != std::string::npos);
  BOOST_TEST(sdpOffer("::1", 1).find("c=IN IP6 ::1\r\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(answer_takes_the_first_codec_of_ours_and_keeps_every_m_line) {
  const std::string offer =
      "v=0\r\no=x 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
      "m=video 5000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
      "m=audio 4000 RTP/AVP 18 8 0\r\na=rtpmap:18 G729/8000\r\n";
  const auto answer = sdpAnswer(offer, "127.0.0.1", 7);
  BOOST_REQUIRE(answer);
  BOOST_TEST(answer->codec == "PCMA/8000");
  BOOST_TEST(answer->body.find("m=video 0 RTP/AVP 96\r\n") != std::string::npos);
  BOOST_TEST(answer->body.find("m=audio 9 RTP/AVP 8\r\n") != std::string::npos);
  BOOST_TEST(answer->body.find("m=video") < answer->body.find("m=audio"));
  BOOST_TEST(sdpChosenCodec(answer->body) == "PCMA/8000");
}

BOOST_AUTO_TEST_CASE(dynamic_payload_types_by_rtpmap_and_no_common_codec) {
  const auto answer =
      sdpAnswer("v=0\r\nm=audio 4000 RTP/AVP 101\r\na=rtpmap:101 pcmu/8000\r\n", "127.0.0.1", 1);
  BOOST_REQUIRE(answer);
  BOOST_TEST(answer->codec == "PCMU/8000");
  BOOST_TEST(!sdpAnswer("v=0\r\nm=audio 4000 RTP/AVP 18\r\n", "127.0.0.1", 1).has_value());
  BOOST_TEST(!sdpAnswer("v=0\r\nm=audio 0 RTP/AVP 0\r\n", "127.0.0.1", 1).has_value());
  BOOST_TEST(sdpChosenCodec("garbage") == "");
}

BOOST_AUTO_TEST_SUITE_END()
