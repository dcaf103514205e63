// The SOAP waiting room's judgement (waiting_room.h): when the first bytes
// of a connection are worth a worker.
#include <boost/test/unit_test.hpp>

#include <string>

#include "waiting_room.h"

using beckon::soap::readyForWorker;

BOOST_AUTO_TEST_SUITE(waiting_room)

BOOST_AUTO_TEST_CASE(http_waits_for_the_empty_line) {
  BOOST_TEST(!readyForWorker("", false, 100));
  BOOST_TEST(!readyForWorker("POST / HTTP/1.1\r\nHost: b\r\n", false, 100));
  BOOST_TEST(!readyForWorker("POST / HTTP/1.1\r\nHost: b\r\n\r", false, 100));
  BOOST_TEST(readyForWorker("POST / HTTP/1.1\r\nHost: b\r\n\r\n", false, 100));
  BOOST_TEST(readyForWorker("GET /healthz HTTP/1.1\r\n\r\n<body>", false, 100));
  // Longer than a header may be: the worker answers 431.
  BOOST_TEST(readyForWorker(std::string(101, 'a'), false, 100));
  BOOST_TEST(!readyForWorker(std::string(100, 'a'), false, 100));
}

BOOST_AUTO_TEST_CASE(tls_waits_for_the_whole_client_hello_record) {
  const std::string header("\x16\x03\x01\x00\x04", 5);
  BOOST_TEST(!readyForWorker("", true, 100));
  BOOST_TEST(!readyForWorker(header.substr(0, 3), true, 100));
  BOOST_TEST(!readyForWorker(header, true, 100));
  BOOST_TEST(!readyForWorker(header + "abc", true, 100));
  BOOST_TEST(readyForWorker(header + "abcd", true, 100));
  // Not a handshake record: at once (the worker's handshake refuses it).
  BOOST_TEST(readyForWorker("GET / HTTP/1.1", true, 100));
  BOOST_TEST(readyForWorker(std::string(1, '\0'), true, 100));
}

BOOST_AUTO_TEST_SUITE_END()
