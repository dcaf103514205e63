#include <boost/test/unit_test.hpp>

#include "printers.h"

#include "core.h"
#include "recording_sender.h"

using namespace beckon;
using namespace std::chrono_literals;

namespace {

const std::string kPkg = kDefaultPackage;

struct Fixture {
  ManualClock clock;
  RecordingSender sender;
  Core core{clock, sender};
  Caller app{"crm"};

  std::uint64_t registerDevice(const std::string& user, const std::string& instance,
                               BodyFormat format = BodyFormat::Text, int expires = 3600) {
    Binding b;
    b.aor = "sip:" + user + "@example.com";
    b.contact = "sip:" + user + "@127.0.0.2:5999";
    b.instance = instance;
    b.expires = clock.now() + std::chrono::seconds(expires);
    b.packages = {{kPkg, format, true}};
    return core.upsertBinding(b);
  }

  static ContactMeParams request(std::string device, std::string id) {
    ContactMeParams p;
    p.deviceId = std::move(device);
    p.requestId = std::move(id);
    p.server = "crm.example.com:8443";
    p.protocol = "https";
    return p;
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(core, Fixture)

BOOST_AUTO_TEST_CASE(contact_me_notifies_and_2xx_delivers) {
  registerDevice("100", "urn:uuid:00000000-0000-4000-8000-000000000001", BodyFormat::Text, 600);
  std::vector<ContactStatus> seen;
  auto s = core.contactMe(app, request("100", "r1"),
                          [&](const ContactStatus& st) { seen.push_back(st); });
  BOOST_TEST(s.state == RequestState::Notifying);
  BOOST_TEST_REQUIRE(sender.sent.size() == 1u);
  const OutgoingNotify& n = sender.sent[0].notify;
  BOOST_TEST(n.package == kPkg);
  BOOST_TEST(n.subscriptionState == "active;expires=600");
  BOOST_TEST(n.contentType == "application/" + kPkg);
  BOOST_TEST(
      n.body ==
      "state: pending\r\nrequest-id: r1\r\nserver: crm.example.com:8443\r\nprotocol: https\r\n");

  sender.answer(0, 200, "OK");
  s = core.status(app, "r1");
  BOOST_TEST(s.state == RequestState::Delivered);
  BOOST_TEST(s.settled);
  BOOST_TEST_REQUIRE(s.deliveries.size() == 1u);
  BOOST_TEST(s.deliveries[0].sipStatus == 200);
  BOOST_TEST(s.deliveries[0].contact == "sip:100@127.0.0.2:5999");
  BOOST_TEST(!seen.empty());
  BOOST_TEST(seen.back().state == RequestState::Delivered);
}

BOOST_AUTO_TEST_CASE(unknown_or_unsubscribed_device_is_a_fault) {
  try {
    core.contactMe(app, request("999", "r1"));
    BOOST_FAIL("no fault");
  } catch (const Fault& f) {
    BOOST_TEST(f.code() == FaultCode::UnknownDevice);
  }
  Binding b;
  b.aor = "sip:300@example.com";
  b.contact = "sip:300@127.0.0.2:5999";
  b.expires = clock.now() + 1h;  // registered, but its Accept did not list the package
  core.upsertBinding(b);
  BOOST_CHECK_THROW(core.contactMe(app, request("300", "r2")), Fault);
  BOOST_TEST(sender.sent.empty());
}

BOOST_AUTO_TEST_CASE(same_request_id_same_content_sends_nothing_new) {
  registerDevice("100", "");
  core.contactMe(app, request("100", "r1"));
  auto again = core.contactMe(app, request("100", "r1"));
  BOOST_TEST(sender.sent.size() == 1u);
  BOOST_TEST(again.state == RequestState::Notifying);

  auto other = request("100", "r1");
  other.path = "/else";
  try {
    core.contactMe(app, other);
    BOOST_FAIL("no fault");
  } catch (const Fault& f) {
    BOOST_TEST(f.code() == FaultCode::RequestIdConflict);
  }
  // Another application server may use the same requestId.
  core.contactMe(Caller{"other"}, other);
  BOOST_TEST(sender.sent.size() == 2u);
}

BOOST_AUTO_TEST_CASE(failure_without_queue_time_fails) {
  registerDevice("100", "");
  core.contactMe(app, request("100", "r1"));
  sender.answer(0, 408, "Request Timeout");
  auto s = core.status(app, "r1");
  BOOST_TEST(s.state == RequestState::Failed);
  BOOST_TEST(s.settled);
  BOOST_TEST(s.deliveries.at(0).sipStatus == 408);
}

BOOST_AUTO_TEST_CASE(queued_request_is_delivered_when_the_device_registers) {
  auto p = request("sip:100@example.com", "r1");
  p.queueSeconds = 60;
  auto s = core.contactMe(app, p);
  BOOST_TEST(s.state == RequestState::Queued);
  BOOST_TEST(sender.sent.empty());
  clock.advance(10s);
  core.tick();
  registerDevice("100", "");
  BOOST_TEST_REQUIRE(sender.sent.size() == 1u);
  BOOST_TEST(core.status(app, "r1").state == RequestState::Notifying);
  sender.answer(0, 200);
  BOOST_TEST(core.status(app, "r1").state == RequestState::Delivered);
}

BOOST_AUTO_TEST_CASE(queued_request_expires) {
  auto p = request("100", "r1");
  p.queueSeconds = 5;
  core.contactMe(app, p);
  clock.advance(4s);
  core.tick();
  BOOST_TEST(core.status(app, "r1").state == RequestState::Queued);
  clock.advance(1s);
  core.tick();
  auto s = core.status(app, "r1");
  BOOST_TEST(s.state == RequestState::Expired);
  BOOST_TEST(s.settled);
}

BOOST_AUTO_TEST_CASE(failed_attempts_are_retried_with_backoff_while_queued) {
  registerDevice("100", "");
  auto p = request("100", "r1");
  p.queueSeconds = 30;
  core.contactMe(app, p);
  sender.answer(0, 503, "Service Unavailable");
  BOOST_TEST(core.status(app, "r1").state == RequestState::Queued);
  clock.advance(900ms);
  core.tick();
  BOOST_TEST(sender.sent.size() == 1u);  // first back-off: 1 s
  clock.advance(100ms);
  core.tick();
  BOOST_TEST_REQUIRE(sender.sent.size() == 2u);
  sender.answer(1, 500);
  clock.advance(1s);
  core.tick();
  BOOST_TEST(sender.sent.size() == 2u);  // second back-off: 2 s
  clock.advance(1s);
  core.tick();
  BOOST_TEST_REQUIRE(sender.sent.size() == 3u);
  sender.answer(2, 200);
  auto s = core.status(app, "r1");
  BOOST_TEST(s.state == RequestState::Delivered);
  BOOST_TEST(s.deliveries.size() == 3u);
}

BOOST_AUTO_TEST_CASE(a_481_unsubscribes_the_binding) {
  const auto id = registerDevice("100", "");
  core.contactMe(app, request("100", "r1"));
  sender.answer(0, 481, "Subscription does not exist");
  BOOST_TEST(!core.bindings().get(id)->subscription(kPkg));
  BOOST_CHECK_THROW(core.contactMe(app, request("100", "r2")), Fault);
}

BOOST_AUTO_TEST_CASE(every_device_of_an_aor_is_notified_in_parallel) {
  registerDevice("100", "urn:uuid:00000000-0000-4000-8000-000000000001");
  registerDevice("100", "urn:uuid:00000000-0000-4000-8000-000000000002", BodyFormat::Xml);
  core.contactMe(app, request("sip:100@example.com", "r1"));
  BOOST_TEST_REQUIRE(sender.sent.size() == 2u);
  BOOST_TEST(sender.sent[1].notify.contentType == "application/" + kPkg + "+xml");
  sender.answer(1, 200);
  auto s = core.status(app, "r1");
  BOOST_TEST(s.state == RequestState::Delivered);
  BOOST_TEST(!s.settled);  // one NOTIFY still out
  sender.answer(0, 486);
  s = core.status(app, "r1");
  BOOST_TEST(s.settled);
  BOOST_TEST(s.deliveries.size() == 2u);
}

BOOST_AUTO_TEST_CASE(ended_requests_are_kept_an_hour) {
  registerDevice("100", "");
  core.contactMe(app, request("100", "r1"));
  sender.answer(0, 200);
  clock.advance(3599s);
  core.tick();
  BOOST_TEST(core.status(app, "r1").state == RequestState::Delivered);
  clock.advance(1s);
  core.tick();
  BOOST_CHECK_THROW(core.status(app, "r1"), Fault);
}

BOOST_AUTO_TEST_CASE(synchronous_sender_failure_is_handled) {
  class FailingSender final : public NotifySender {
   public:
    void send(const Binding&, const OutgoingNotify&,
              std::function<void(const NotifyOutcome&)> done) override {
      done({503, "connection closed"});
    }
  } failing;
  Core c(clock, failing);
  Binding b;
  b.aor = "sip:100@example.com";
  b.contact = "sip:100@127.0.0.2:5999";
  b.expires = clock.now() + 1h;
  b.packages = {{kPkg, BodyFormat::Text, true}};
  c.upsertBinding(b);
  auto s = c.contactMe(app, request("100", "r1"));
  BOOST_TEST(s.state == RequestState::Failed);
  BOOST_TEST(s.settled);
  BOOST_TEST(s.deliveries.at(0).sipStatus == 503);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(core_more, Fixture)

BOOST_AUTO_TEST_CASE(cancel_ends_a_queued_request_and_keeps_a_delivered_one) {
  auto p = request("100", "r1");
  p.queueSeconds = 60;
  core.contactMe(app, p);
  BOOST_TEST(core.cancel(app, "r1").state == RequestState::Cancelled);
  registerDevice("100", "");
  BOOST_TEST(sender.sent.empty());  // a cancelled request is not sent

  core.contactMe(app, request("100", "r2"));
  sender.answer(0, 200);
  BOOST_TEST(core.cancel(app, "r2").state == RequestState::Delivered);
  BOOST_CHECK_THROW(core.cancel(app, "nope"), Fault);
}

BOOST_AUTO_TEST_CASE(cancel_while_notifying_ends_cancelled_unless_delivered) {
  registerDevice("100", "");
  auto p = request("100", "r1");
  p.queueSeconds = 60;
  core.contactMe(app, p);
  BOOST_TEST(core.cancel(app, "r1").state == RequestState::Notifying);
  sender.answer(0, 503);
  BOOST_TEST(core.status(app, "r1").state == RequestState::Cancelled);
}

BOOST_AUTO_TEST_CASE(device_lists_bindings_without_flows) {
  registerDevice("100", "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
  auto bindings = core.device("00:a0:c9:1e:6b:f6");
  BOOST_TEST_REQUIRE(bindings.size() == 1u);
  BOOST_TEST(bindings[0].aor == "sip:100@example.com");
  BOOST_TEST(!bindings[0].flow);
  BOOST_TEST(core.device("999").empty());
}

BOOST_AUTO_TEST_CASE(notice_when_a_device_becomes_reachable) {
  struct Sink final : NoticeSink {
    std::vector<DeviceNotice> got;
    void deviceRegistered(const DeviceNotice& n) override { got.push_back(n); }
  } sink;
  core.setNoticeSink(&sink);
  registerDevice("100", "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
  BOOST_TEST_REQUIRE(sink.got.size() == 1u);
  BOOST_TEST(sink.got[0].deviceId == "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
  BOOST_TEST(sink.got[0].aor == "sip:100@example.com");
  BOOST_TEST(sink.got[0].package == kPkg);
  registerDevice("100", "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6");  // a refresh: no notice
  BOOST_TEST(sink.got.size() == 1u);
  registerDevice("200", "");
  BOOST_TEST(sink.got.size() == 2u);
  BOOST_TEST(sink.got[1].deviceId == "sip:200@example.com");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(core_subscriptions, Fixture)

namespace {
Binding subscription(const ManualClock& clock, const std::string& dialog,
                     const std::string& instance, int expires = 600) {
  Binding b;
  b.aor = "sip:100@example.com";
  b.contact = "sip:100@127.0.0.2:5999";
  b.instance = instance;
  b.expires = clock.now() + std::chrono::seconds(expires);
  b.packages = {{kDefaultPackage, BodyFormat::Text, false}};
  b.dialogId = dialog;
  return b;
}
}  // namespace

BOOST_AUTO_TEST_CASE(one_notify_per_request_per_device) {
  const std::string inst = "urn:uuid:00000000-0000-4000-8000-000000000001";
  registerDevice("100", inst);                              // implicit, by REGISTER
  core.upsertBinding(subscription(clock, "c1;a;b", inst));  // explicit, same device
  const auto newest = core.upsertBinding(subscription(clock, "c2;a;b", inst));
  core.contactMe(app, request("sip:100@example.com", "r1"));
  BOOST_TEST_REQUIRE(sender.sent.size() == 1u);
  BOOST_TEST(sender.sent[0].bindingId == newest);  // the newest explicit subscription
  registerDevice("100", "urn:uuid:00000000-0000-4000-8000-000000000002");  // another device
  core.contactMe(app, request("sip:100@example.com", "r2"));
  BOOST_TEST(sender.sent.size() == 3u);
}

BOOST_AUTO_TEST_CASE(a_subscription_sees_what_waits_for_it) {
  auto p = request("100", "r1");
  p.queueSeconds = 60;
  core.contactMe(app, p);
  const Binding sub = subscription(clock, "c1;a;b", "");
  BOOST_TEST(core.waitingFor(sub, kDefaultPackage) == 1u);
  BOOST_TEST(core.waitingFor(sub, "other") == 0u);
  core.upsertBinding(sub);
  BOOST_TEST_REQUIRE(sender.sent.size() == 1u);
  BOOST_TEST(sender.sent[0].notify.body.rfind("state: pending\r\nrequest-id: r1\r\n", 0) == 0);
  BOOST_TEST(core.waitingFor(sub, kDefaultPackage) == 0u);
}

BOOST_AUTO_TEST_CASE(idle_state_and_the_end_of_a_subscription) {
  const auto id = core.upsertBinding(subscription(clock, "c1;a;b", "", 600));
  core.notifyIdle(id);
  BOOST_TEST_REQUIRE(sender.sent.size() == 1u);
  BOOST_TEST(sender.sent[0].notify.body == "state: idle\r\n");
  BOOST_TEST(sender.sent[0].notify.subscriptionState == "active;expires=600");
  core.endSubscription(id, "timeout");
  BOOST_TEST_REQUIRE(sender.sent.size() == 2u);
  BOOST_TEST(sender.sent[1].notify.subscriptionState == "terminated;reason=timeout");
  BOOST_TEST(!core.bindings().get(id));
}

BOOST_AUTO_TEST_CASE(an_expired_subscription_gets_its_final_notify) {
  const auto id = core.upsertBinding(subscription(clock, "c1;a;b", "", 5));
  clock.advance(5s);
  core.tick();
  BOOST_TEST(!core.bindings().get(id));
  BOOST_TEST_REQUIRE(sender.sent.size() == 1u);
  BOOST_TEST(sender.sent[0].notify.subscriptionState == "terminated;reason=timeout");
}

BOOST_AUTO_TEST_CASE(a_481_ends_an_explicit_subscription) {
  const auto id = core.upsertBinding(subscription(clock, "c1;a;b", ""));
  core.contactMe(app, request("100", "r1"));
  sender.answer(0, 481);
  BOOST_TEST(!core.bindings().get(id));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(core_retries, Fixture)

BOOST_AUTO_TEST_CASE(a_device_that_refuses_is_not_asked_again) {
  registerDevice("100", "");
  auto p = request("100", "r1");
  p.queueSeconds = 30;
  core.contactMe(app, p);
  sender.answer(0, 486, "Busy Here");
  BOOST_TEST(core.status(app, "r1").state == RequestState::Queued);
  clock.advance(5s);
  core.tick();
  BOOST_TEST(sender.sent.size() == 1u);  // 4xx: that binding is not retried
  registerDevice("100", "urn:uuid:00000000-0000-4000-8000-000000000009");  // another device appears
  BOOST_TEST_REQUIRE(sender.sent.size() == 2u);
  sender.answer(1, 200);
  BOOST_TEST(core.status(app, "r1").state == RequestState::Delivered);
}

BOOST_AUTO_TEST_CASE(timeouts_and_server_errors_are_retried) {
  registerDevice("100", "");
  auto p = request("100", "r1");
  p.queueSeconds = 30;
  core.contactMe(app, p);
  sender.answer(0, 408);
  clock.advance(1s);
  core.tick();
  BOOST_TEST_REQUIRE(sender.sent.size() == 2u);
  sender.answer(1, 603, "Decline");
  clock.advance(2s);
  core.tick();
  BOOST_TEST(sender.sent.size() == 3u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(core_flows, Fixture)

BOOST_AUTO_TEST_CASE(a_dead_flow_makes_its_binding_unreachable_until_it_registers_again) {
  registerDevice("100", "urn:uuid:00000000-0000-4000-8000-000000000001");
  auto p = request("100", "r1");
  p.queueSeconds = 60;
  core.contactMe(app, p);
  auto done = std::move(sender.sent.at(0).done);
  done({503, "the device's connection is closed", true});
  BOOST_TEST(core.status(app, "r1").state == RequestState::Queued);
  clock.advance(10s);
  core.tick();
  BOOST_TEST(sender.sent.size() == 1u);  // not tried again over the dead flow
  auto q = request("100", "r2");
  q.queueSeconds = 60;
  BOOST_TEST(core.contactMe(app, q).state == RequestState::Queued);  // waits, sends nothing
  BOOST_TEST(sender.sent.size() == 1u);
  registerDevice("100", "urn:uuid:00000000-0000-4000-8000-000000000001");  // a new flow
  BOOST_TEST(sender.sent.size() == 3u);                                    // both requests, over it
}

BOOST_AUTO_TEST_SUITE_END()
