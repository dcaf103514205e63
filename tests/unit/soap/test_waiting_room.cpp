// The SOAP waiting room's judgement (waiting_room.h): when the first bytes
// of a connection are worth a worker.
#include <boost/test/unit_test.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
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

// A peer that sends half a header and shuts its side down sends nothing
// more: the room hands it on at once (a worker answers it), rather than
// waiting for the header timeout (the zzuf mutation test found it).
BOOST_AUTO_TEST_CASE(a_peer_that_shut_down_after_half_a_header_is_handed_on_at_once) {
  using namespace std::chrono_literals;
  int pair[2];
  BOOST_TEST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
  int listener[2];
  BOOST_TEST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, listener) == 0);
  beckon::soap::WaitingRoom room(false, 5000ms, 1024);
  beckon::soap::Accepted a;
  a.socket = pair[0];
  a.acceptedAt = std::chrono::steady_clock::now();
  room.add(std::move(a));
  const std::string half = "POST / HTTP/1.1\r\nHost: b\r\n";
  BOOST_TEST_REQUIRE(::write(pair[1], half.data(), half.size()) ==
                     static_cast<ssize_t>(half.size()));
  auto out = room.wait(listener[0], 200ms);
  BOOST_TEST(out.ready.empty());  // half a header: it waits
  BOOST_TEST(room.size() == 1u);
  ::shutdown(pair[1], SHUT_WR);
  const auto before = std::chrono::steady_clock::now();
  out = room.wait(listener[0], 2000ms);
  BOOST_TEST(out.ready.size() == 1u);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - before);
  BOOST_TEST(took.count() < 1000);
  BOOST_TEST(room.size() == 0u);
  for (auto& r : out.ready)
    ::close(r.socket);
  ::close(pair[1]);
  ::close(listener[0]);
  ::close(listener[1]);
}

BOOST_AUTO_TEST_SUITE_END()
