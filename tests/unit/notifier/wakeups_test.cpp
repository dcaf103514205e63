// RFC 8599 in the core: a device with push parameters and no live flow is
// pushed, and its NOTIFY waits for it to register again (Wakeups, Core).
#include <boost/test/unit_test.hpp>

#include "printers.h"

#include "core.h"
#include "recording_sender.h"

using namespace beckon;
using namespace std::chrono_literals;

namespace {

const std::string kPkg = kDefaultPackage;
const std::string kInstance = "urn:uuid:00000000-0000-4000-8000-00000000a001";

// A PushSender for tests: records pushes; the test answers them.
class RecordingPusher final : public PushSender {
 public:
  struct Pushed {
    PushRequest request;
    std::function<void(const PushResult&)> done;
  };
  void push(const PushRequest& r, std::function<void(const PushResult&)> done) override {
    pushed.push_back({r, std::move(done)});
  }
  void answer(std::size_t i, PushResult result) {
    auto done = std::move(pushed.at(i).done);
    done(result);
  }
  std::vector<Pushed> pushed;
};

class OpenFlow final : public Flow {};

struct Fixture {
  ManualClock clock;
  RecordingSender sender;
  RecordingPusher pusher;
  Core core{clock, sender};
  Caller app{"crm"};

  Fixture() {
    PushConfig config;
    config.providers = {{"apns", 10s}};
    core.setPush(pusher, config);
  }

  // Registers (or refreshes) the device over TCP; with `live`, over a flow
  // that is open.
  std::uint64_t registerDevice(bool live, Transport transport = Transport::Tcp,
                               const std::string& provider = "apns", int expires = 3600) {
    Binding b;
    b.aor = "sip:100@example.com";
    b.contact = "sip:100@127.0.0.2:5999;transport=tcp;pn-provider=apns;pn-prid=tok";
    b.instance = kInstance;
    b.transport = transport;
    b.expires = clock.now() + std::chrono::seconds(expires);
    b.packages = {{kPkg, BodyFormat::Text, true}};
    b.push = {provider, "tok", "app.voip"};
    if (live) b.flow = std::make_shared<OpenFlow>();
    return core.upsertBinding(b);
  }

  static ContactMeParams request(std::string id, std::uint32_t queueSeconds = 0) {
    ContactMeParams p;
    p.deviceId = kInstance;
    p.requestId = std::move(id);
    p.queueSeconds = queueSeconds;
    return p;
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(wakeups, Fixture)

BOOST_AUTO_TEST_CASE(a_device_without_a_flow_is_pushed_and_notified_once_it_registers) {
  registerDevice(false);
  auto s = core.contactMe(app, request("r1"));
  BOOST_TEST(s.state == RequestState::Notifying);
  BOOST_TEST(sender.sent.empty());
  BOOST_TEST_REQUIRE(pusher.pushed.size() == 1u);
  const PushRequest& p = pusher.pushed[0].request;
  BOOST_TEST((p.reason == PushReason::ContactMe));
  BOOST_TEST((p.target == PushTarget{"apns", "tok", "app.voip"}));
  BOOST_TEST(p.aor == "sip:100@example.com");
  BOOST_TEST(p.instance == kInstance);
  BOOST_TEST(p.requestId == "r1");
  BOOST_TEST(p.appServer == "crm");
  BOOST_TEST(!p.id.empty());

  pusher.answer(0, {true, 200, ""});
  s = core.status(app, "r1");
  BOOST_TEST_REQUIRE(s.deliveries.size() == 1u);
  BOOST_TEST(s.deliveries[0].reason ==
             "push through apns sent (HTTP 200): waiting for the device to register");
  BOOST_TEST(s.deliveries[0].inFlight);

  clock.advance(1500ms);
  registerDevice(true);  // the 200 is out: the registrar calls reachWaiting
  BOOST_TEST_REQUIRE(sender.sent.size() == 1u);
  sender.answer(0, 200, "OK");
  s = core.status(app, "r1");
  BOOST_TEST(s.state == RequestState::Delivered);
  BOOST_TEST_REQUIRE(s.deliveries.size() == 2u);
  BOOST_TEST(s.deliveries[0].reason ==
             "push through apns: the device registered again after 1500 ms");
  BOOST_TEST(s.deliveries[0].sipStatus == 0);
  BOOST_TEST(s.deliveries[1].sipStatus == 200);
  BOOST_TEST(core.wakeups()->waiting() == 0u);
}

BOOST_AUTO_TEST_CASE(a_live_flow_is_notified_without_a_push_and_udp_is_pushed) {
  registerDevice(true);
  core.contactMe(app, request("r1"));
  BOOST_TEST(sender.sent.size() == 1u);
  BOOST_TEST(pusher.pushed.empty());
  // UDP: nobody sees whether its NAT binding lives; pushed first.
  registerDevice(true, Transport::Udp);
  core.contactMe(app, request("r2"));
  BOOST_TEST(sender.sent.size() == 1u);
  BOOST_TEST(pusher.pushed.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_provider_not_configured_is_not_pushed) {
  registerDevice(false, Transport::Tcp, "gone");
  core.contactMe(app, request("r1"));
  BOOST_TEST(pusher.pushed.empty());
  BOOST_TEST(sender.sent.size() == 1u);  // tried over its dead flow: fails with its 503
}

BOOST_AUTO_TEST_CASE(a_failed_push_fails_the_request_and_says_why) {
  registerDevice(false);
  core.contactMe(app, request("r1"));
  pusher.answer(0, {false, 503, "the gateway answered HTTP 503"});
  const auto s = core.status(app, "r1");
  BOOST_TEST(s.state == RequestState::Failed);
  BOOST_TEST(s.settled);
  BOOST_TEST_REQUIRE(s.deliveries.size() == 1u);
  BOOST_TEST(s.deliveries[0].reason == "push through apns failed: the gateway answered HTTP 503");
}

BOOST_AUTO_TEST_CASE(a_device_that_does_not_register_in_time_fails_the_request) {
  registerDevice(false);
  core.contactMe(app, request("r1"));
  pusher.answer(0, {true, 200, ""});
  clock.advance(9s);
  core.tick();
  BOOST_TEST(core.status(app, "r1").state == RequestState::Notifying);
  clock.advance(1s);
  core.tick();
  const auto s = core.status(app, "r1");
  BOOST_TEST(s.state == RequestState::Failed);
  BOOST_TEST(s.deliveries.at(0).reason ==
             "push through apns sent: the device did not register within 10000 ms");
  BOOST_TEST(core.wakeups()->waiting() == 0u);
}

BOOST_AUTO_TEST_CASE(with_queue_time_a_failed_wake_is_retried_with_a_new_push) {
  registerDevice(false);
  core.contactMe(app, request("r1", 600));
  pusher.answer(0, {false, 0, "cannot reach the gateway"});
  BOOST_TEST(core.status(app, "r1").state == RequestState::Queued);
  clock.advance(1s);  // the first back-off
  core.tick();
  BOOST_TEST(pusher.pushed.size() == 2u);
  BOOST_TEST(core.status(app, "r1").state == RequestState::Notifying);
}

BOOST_AUTO_TEST_CASE(two_requests_for_one_device_share_one_push) {
  registerDevice(false);
  core.contactMe(app, request("r1"));
  pusher.answer(0, {true, 200, ""});
  core.contactMe(app, request("r2"));
  BOOST_TEST(pusher.pushed.size() == 1u);
  // The second hears at once that the push is out.
  BOOST_TEST(core.status(app, "r2").deliveries.at(0).reason ==
             "push through apns sent (HTTP 200): waiting for the device to register");
  registerDevice(true);
  BOOST_TEST(sender.sent.size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_cancelled_request_ends_its_wait) {
  registerDevice(false);
  core.contactMe(app, request("r1"));
  const auto s = core.cancel(app, "r1");
  BOOST_TEST(s.state == RequestState::Cancelled);
  BOOST_TEST(core.wakeups()->waiting() == 0u);
  registerDevice(true);
  BOOST_TEST(sender.sent.empty());  // nothing goes out for it
}

BOOST_AUTO_TEST_CASE(a_flow_found_closed_as_the_notify_leaves_is_pushed_in_the_same_round) {
  const std::uint64_t id = registerDevice(true);
  core.contactMe(app, request("r1"));
  BOOST_TEST_REQUIRE(sender.sent.size() == 1u);
  auto done = std::move(sender.sent[0].done);
  done({503, "the device's connection is closed", true});
  BOOST_TEST(core.bindings().get(id)->unreachable);
  BOOST_TEST_REQUIRE(pusher.pushed.size() == 1u);
  const auto s = core.status(app, "r1");
  BOOST_TEST(s.state == RequestState::Notifying);
  BOOST_TEST(s.deliveries.size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_binding_without_a_flow_is_pushed_before_it_expires) {
  registerDevice(false, Transport::Tcp, "apns", 600);
  core.tick();
  BOOST_TEST(pusher.pushed.empty());
  clock.advance(480s);  // refresh_before 120 s
  core.tick();
  BOOST_TEST_REQUIRE(pusher.pushed.size() == 1u);
  BOOST_TEST((pusher.pushed[0].request.reason == PushReason::Refresh));
  clock.advance(10s);
  core.tick();
  BOOST_TEST(pusher.pushed.size() == 1u);  // once per registration
  // Refreshed over a live flow: no refresh push for it.
  registerDevice(true, Transport::Tcp, "apns", 600);
  clock.advance(500s);
  core.tick();
  BOOST_TEST(pusher.pushed.size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
