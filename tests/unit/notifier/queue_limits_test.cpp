#include <boost/test/unit_test.hpp>

#include "printers.h"

#include "core.h"
#include "recording_sender.h"

using namespace beckon;
using namespace std::chrono_literals;

namespace {

CoreConfig limited() {
  CoreConfig c;
  c.limits.queuedRequests = 3;
  c.limits.queuedRequestsPerAppServer = 2;
  return c;
}

struct QueueFixture {
  ManualClock clock;
  RecordingSender sender;
  Core core{clock, sender, limited()};
  Caller crm{"crm"}, cts{"cts"};

  static ContactMeParams queued(std::string device, std::string id) {
    ContactMeParams p;
    p.deviceId = std::move(device);
    p.requestId = std::move(id);
    p.queueSeconds = 60;
    return p;
  }
  FaultCode faultOf(const Caller& c, const ContactMeParams& p) {
    try {
      core.contactMe(c, p);
    } catch (const Fault& f) {
      return f.code();
    }
    BOOST_FAIL("no fault");
    return FaultCode::Unavailable;
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(queue_limits, QueueFixture)

BOOST_AUTO_TEST_CASE(per_app_server_and_in_all_then_delivered) {
  BOOST_TEST(core.contactMe(crm, queued("100", "r1")).state == RequestState::Queued);
  BOOST_TEST(core.contactMe(crm, queued("100", "r2")).state == RequestState::Queued);
  BOOST_TEST(faultOf(crm, queued("100", "r3")) == FaultCode::Overloaded);
  // the same request again is no new request
  BOOST_TEST(core.contactMe(crm, queued("100", "r1")).state == RequestState::Queued);
  BOOST_TEST(core.contactMe(cts, queued("100", "q1")).state == RequestState::Queued);
  BOOST_TEST(faultOf(cts, queued("100", "q2")) == FaultCode::Overloaded);  // 3 in all
  BOOST_TEST(core.openCount() == 3u);
  BOOST_TEST(core.openCount("crm") == 2u);
  BOOST_TEST(core.requestCount() == 3u);  // the refused ones are not kept

  // every accepted request reaches the device when it registers
  Binding b;
  b.aor = "sip:100@example.com";
  b.contact = "sip:100@127.0.0.2:5999";
  b.expires = clock.now() + 1h;
  b.packages = {{kDefaultPackage, BodyFormat::Text, true}};
  core.upsertBinding(b);
  BOOST_TEST_REQUIRE(sender.sent.size() == 3u);
  BOOST_TEST(core.openCount() == 3u);  // being notified still counts
  for (std::size_t i = 0; i < 3; ++i)
    sender.answer(i, 200, "OK");
  BOOST_TEST(core.status(crm, "r1").state == RequestState::Delivered);
  BOOST_TEST(core.status(crm, "r2").state == RequestState::Delivered);
  BOOST_TEST(core.status(cts, "q1").state == RequestState::Delivered);
  BOOST_TEST(core.openCount() == 0u);
  BOOST_TEST(core.openCount("crm") == 0u);
  // room again
  BOOST_TEST(core.contactMe(crm, queued("100", "r3")).state == RequestState::Notifying);
}

BOOST_AUTO_TEST_CASE(ended_requests_free_their_place) {
  core.contactMe(crm, queued("200", "r1"));
  core.contactMe(crm, queued("200", "r2"));
  BOOST_TEST(faultOf(crm, queued("200", "r3")) == FaultCode::Overloaded);
  core.cancel(crm, "r1");
  BOOST_TEST(core.contactMe(crm, queued("200", "r3")).state == RequestState::Queued);
  clock.advance(61s);  // both expire in the queue
  core.tick();
  BOOST_TEST(core.status(crm, "r2").state == RequestState::Expired);
  BOOST_TEST(core.openCount() == 0u);
  BOOST_TEST(core.contactMe(crm, queued("200", "r4")).state == RequestState::Queued);
}

BOOST_AUTO_TEST_SUITE_END()
