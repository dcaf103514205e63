// The metrics registry, its text exposition format, beckond's Metrics as the
// core feeds them, and the health checks.
#include <boost/test/unit_test.hpp>

#include <future>
#include <thread>

#include "printers.h"

#include "core.h"
#include "health.h"
#include "metrics.h"
#include "store.h"

using namespace beckon;
using namespace std::chrono_literals;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The value of the one sample line `series` ("name{labels}"), or -1.
double sample(const std::string& text, const std::string& series) {
  const std::string head = series + " ";
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = text.find('\n', at);
    const std::string line = text.substr(at, end - at);
    if (line.rfind(head, 0) == 0) return std::stod(line.substr(head.size()));
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return -1;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(metrics)

BOOST_AUTO_TEST_CASE(renders_the_text_format_with_help_and_type) {
  MetricRegistry r;
  r.counter("beckon_things_total", "Things.\nSecond line \\ here.", {{"kind", "a"}}).inc(3);
  r.counter("beckon_things_total", "Things.\nSecond line \\ here.", {{"kind", "b\"\\\n"}});
  r.gauge("beckon_depth", "Depth.").set(-2);
  r.sampledGauge("beckon_read", "Read.", {}, [] { return 0.25; });
  r.sampledCounter("beckon_read_total", "Read total.", {{"x", "y"}}, [] { return 7.0; });
  const std::string want =
      "# HELP beckon_things_total Things.\\nSecond line \\\\ here.\n"
      "# TYPE beckon_things_total counter\n"
      "beckon_things_total{kind=\"a\"} 3\n"
      "beckon_things_total{kind=\"b\\\"\\\\\\n\"} 0\n"
      "# HELP beckon_depth Depth.\n"
      "# TYPE beckon_depth gauge\n"
      "beckon_depth -2\n"
      "# HELP beckon_read Read.\n"
      "# TYPE beckon_read gauge\n"
      "beckon_read 0.25\n"
      "# HELP beckon_read_total Read total.\n"
      "# TYPE beckon_read_total counter\n"
      "beckon_read_total{x=\"y\"} 7\n";
  BOOST_TEST(r.render() == want);
}

BOOST_AUTO_TEST_CASE(histogram_buckets_are_cumulative_and_inclusive) {
  MetricRegistry r;
  Histogram& h = r.histogram("beckon_wait_seconds", "Wait.", {0.001, 0.01, 1}, {{"op", "x"}});
  h.observe(0.001);  // le is "less or equal": the first bucket
  h.observe(0.005);
  h.observe(2ms);
  h.observe(5.0);  // above every bound: +Inf only
  const std::string want =
      "# HELP beckon_wait_seconds Wait.\n"
      "# TYPE beckon_wait_seconds histogram\n"
      "beckon_wait_seconds_bucket{op=\"x\",le=\"0.001\"} 1\n"
      "beckon_wait_seconds_bucket{op=\"x\",le=\"0.01\"} 3\n"
      "beckon_wait_seconds_bucket{op=\"x\",le=\"1\"} 3\n"
      "beckon_wait_seconds_bucket{op=\"x\",le=\"+Inf\"} 4\n"
      "beckon_wait_seconds_sum{op=\"x\"} 5.008\n"
      "beckon_wait_seconds_count{op=\"x\"} 4\n";
  BOOST_TEST(r.render() == want);
  const auto s = h.snapshot();
  BOOST_TEST(s.count == 4u);
  BOOST_TEST(s.cumulative.back() == s.count);
}

BOOST_AUTO_TEST_CASE(bounds_are_written_as_plain_decimals) {
  MetricRegistry r;
  r.histogram("beckon_h_seconds", "H.", {0.0001, 0.00025, 2.5, 604800});
  const std::string text = r.render();
  BOOST_TEST(contains(text, "le=\"0.0001\""));
  BOOST_TEST(contains(text, "le=\"0.00025\""));
  BOOST_TEST(contains(text, "le=\"2.5\""));
  BOOST_TEST(contains(text, "le=\"604800\""));
}

BOOST_AUTO_TEST_CASE(status_counter_shows_the_codes_seen) {
  MetricRegistry r;
  StatusCounter& s = r.statusCounter("beckon_answers_total", "Answers.", {{"kind", "k"}});
  s.inc(200);
  s.inc(200);
  s.inc(408);
  s.inc(0);  // out of range: "other"
  s.inc(999);
  const std::string want =
      "# HELP beckon_answers_total Answers.\n"
      "# TYPE beckon_answers_total counter\n"
      "beckon_answers_total{kind=\"k\",status=\"200\"} 2\n"
      "beckon_answers_total{kind=\"k\",status=\"408\"} 1\n"
      "beckon_answers_total{kind=\"k\",status=\"other\"} 2\n";
  BOOST_TEST(r.render() == want);
  BOOST_TEST(s.value(200) == 2u);
  BOOST_TEST(s.value(201) == 0u);
}

BOOST_AUTO_TEST_CASE(bad_names_and_clashes_are_refused) {
  MetricRegistry r;
  BOOST_CHECK_THROW(r.counter("9lives", "x"), std::invalid_argument);
  BOOST_CHECK_THROW(r.counter("a-b", "x"), std::invalid_argument);
  BOOST_CHECK_THROW(r.counter("ok_total", "x", {{"bad-label", "v"}}), std::invalid_argument);
  BOOST_CHECK_THROW(r.counter("ok_total", "x", {{"le", "v"}}), std::invalid_argument);
  BOOST_CHECK_THROW(r.counter("ok_total", "x", {{"__reserved", "v"}}), std::invalid_argument);
  r.counter("c_total", "C.", {{"a", "1"}});
  BOOST_CHECK_THROW(r.counter("c_total", "C.", {{"a", "1"}}), std::invalid_argument);
  BOOST_CHECK_THROW(r.gauge("c_total", "C.", {{"a", "2"}}), std::invalid_argument);
  BOOST_CHECK_THROW(r.counter("c_total", "Other help.", {{"a", "2"}}), std::invalid_argument);
  BOOST_CHECK_THROW(r.histogram("h", "H.", {1, 1}), std::invalid_argument);
  BOOST_CHECK_THROW(r.statusCounter("s_total", "S.", {{"status", "x"}}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(updates_from_many_threads_are_all_counted) {
  MetricRegistry r;
  Counter& c = r.counter("n_total", "N.");
  Histogram& h = r.histogram("d_seconds", "D.", {0.5});
  Gauge& g = r.gauge("g", "G.");
  std::vector<std::thread> threads;
  constexpr int kThreads = 4, kEach = 20000;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        c.inc();
        h.observe(i % 2 ? 0.25 : 1.0);
        g.add(1);
        g.add(-1);
      }
    });
  }
  // Rendering while they count must not block them or tear a line.
  for (int i = 0; i < 20; ++i)
    BOOST_TEST(contains(r.render(), "# TYPE n_total counter"));
  for (auto& t : threads)
    t.join();
  BOOST_TEST(c.value() == std::uint64_t(kThreads) * kEach);
  const auto s = h.snapshot();
  BOOST_TEST(s.count == std::uint64_t(kThreads) * kEach);
  BOOST_TEST(s.cumulative[0] == std::uint64_t(kThreads) * kEach / 2);
  BOOST_TEST(s.sum == kThreads * kEach / 2 * 1.25);
  BOOST_TEST(g.value() == 0);
}

BOOST_AUTO_TEST_CASE(beckond_metrics_have_the_documented_families) {
  Metrics m("1.2.3");
  m.registerAnswered(200);
  m.registerAnswered(423);
  m.soapAnswered(Metrics::SoapOperation::ContactMe, Metrics::SoapResult::Ok, FaultCode::Unavailable,
                 3ms);
  m.soapAnswered(Metrics::SoapOperation::ContactMe, Metrics::SoapResult::Fault,
                 FaultCode::UnknownDevice, 1ms);
  m.notifyAnswered(true, 200, 2ms);
  m.notifyAnswered(false, 481, 1s);
  m.storeCommit(400us, 12);
  m.storeQueueDepth(5);
  m.storeFailed();
  m.configReloaded(true);
  m.configReloaded(false);
  m.configReloaded(false);
  m.limitRefused(Metrics::Limit::AorRate);
  m.limitRefused(Metrics::Limit::AorRate);
  m.limitRefused(Metrics::Limit::SoapMaxBodyBytes);
  const std::string text = m.render();
  BOOST_TEST(sample(text, "beckon_limit_refusals_total{limit=\"limits.aor_rate\"}") == 2);
  BOOST_TEST(sample(text, "beckon_limit_refusals_total{limit=\"soap.max_body_bytes\"}") == 1);
  BOOST_TEST(sample(text, "beckon_limit_refusals_total{limit=\"app_server.rate\"}") == 0);
  BOOST_TEST(sample(text, "beckon_build_info{version=\"1.2.3\"}") == 1);
  BOOST_TEST(sample(text, "beckon_register_responses_total{status=\"200\"}") == 1);
  BOOST_TEST(sample(text, "beckon_register_responses_total{status=\"423\"}") == 1);
  BOOST_TEST(sample(text, "beckon_soap_requests_total{operation=\"ContactMe\",result=\"ok\"}") ==
             1);
  BOOST_TEST(
      sample(text,
             "beckon_soap_requests_total{operation=\"ContactMe\",result=\"UnknownDevice\"}") == 1);
  BOOST_TEST(sample(text, "beckon_soap_requests_total{operation=\"GetDevice\",result=\"error\"}") ==
             0);
  BOOST_TEST(sample(text, "beckon_soap_request_duration_seconds_count{operation=\"ContactMe\"}") ==
             2);
  BOOST_TEST(sample(text, "beckon_notify_responses_total{kind=\"request\",status=\"200\"}") == 1);
  BOOST_TEST(sample(text, "beckon_notify_responses_total{kind=\"state\",status=\"481\"}") == 1);
  BOOST_TEST(sample(text, "beckon_notify_duration_seconds_bucket{kind=\"state\",le=\"1\"}") == 1);
  BOOST_TEST(sample(text, "beckon_store_commit_duration_seconds_bucket{le=\"0.0005\"}") == 1);
  BOOST_TEST(sample(text, "beckon_store_commit_duration_seconds_bucket{le=\"0.00025\"}") == 0);
  BOOST_TEST(sample(text, "beckon_store_writes_total") == 12);
  BOOST_TEST(sample(text, "beckon_store_queue_depth") == 5);
  BOOST_TEST(sample(text, "beckon_store_errors_total") == 1);
  BOOST_TEST(sample(text, "beckon_config_reloads_total{result=\"applied\"}") == 1);
  BOOST_TEST(sample(text, "beckon_config_reloads_total{result=\"refused\"}") == 2);
  // Every family is named beckon_*, with its HELP before its TYPE.
  std::size_t helps = 0, types = 0;
  for (std::size_t at = 0; (at = text.find("# HELP ", at)) != std::string::npos; ++at) {
    ++helps;
    BOOST_TEST(text.compare(at + 7, 7, "beckon_") == 0);
  }
  for (std::size_t at = 0; (at = text.find("# TYPE ", at)) != std::string::npos; ++at)
    ++types;
  BOOST_TEST(helps == types);
  BOOST_TEST(helps >= 20u);
}

namespace {

class Answering final : public NotifySender {
 public:
  void send(const Binding& b, const OutgoingNotify&,
            std::function<void(const NotifyOutcome&)> done) override {
    pending.push_back({b.id, std::move(done)});
  }
  void answer(std::size_t i, int status) {
    auto done = std::move(pending.at(i).second);
    done({status, "test"});
  }
  std::vector<std::pair<std::uint64_t, std::function<void(const NotifyOutcome&)>>> pending;
};

Binding binding(const std::string& user, const ManualClock& clock, bool subscribed = true) {
  Binding b;
  b.aor = "sip:" + user + "@example.com";
  b.contact = "sip:" + user + "@127.0.0.2:5999";
  b.expires = clock.now() + 1h;
  if (subscribed) b.packages = {{kDefaultPackage, BodyFormat::Text, true}};
  return b;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_core_reports_bindings_and_requests) {
  ManualClock clock;
  Answering sender;
  CoreConfig config;
  config.keepEnded = 3600s;
  Core core(clock, sender, config);
  Metrics m;
  core.setMetrics(&m);
  const Caller app{"crm"};

  core.upsertBinding(binding("100", clock));
  core.upsertBinding(binding("200", clock));
  core.upsertBinding(binding("300", clock, false));  // registered, not subscribed
  Binding sub = binding("400", clock);
  sub.dialogId = "call;from;to";
  sub.packages.front().implicit = false;
  core.upsertBinding(sub);
  core.tick();  // the gauges are published by the timer
  std::string text = m.render();
  BOOST_TEST(sample(text, "beckon_bindings") == 3);
  BOOST_TEST(sample(text, "beckon_subscriptions{kind=\"implicit\"}") == 2);
  BOOST_TEST(sample(text, "beckon_subscriptions{kind=\"explicit\"}") == 1);

  ContactMeParams p;
  p.deviceId = "100";
  p.requestId = "r1";
  core.contactMe(app, p);
  p.requestId = "r2";
  p.deviceId = "200";
  core.contactMe(app, p);
  core.contactMe(app, p);  // a repeat: not a new request
  p.requestId = "r3";
  p.deviceId = "999";
  p.queueSeconds = 10;
  core.contactMe(app, p);  // nobody to notify: queued
  text = m.render();
  BOOST_TEST(sample(text, "beckon_contact_requests_created_total") == 3);
  BOOST_TEST(sample(text, "beckon_contact_requests{state=\"notifying\"}") == 2);
  BOOST_TEST(sample(text, "beckon_contact_requests{state=\"queued\"}") == 1);

  clock.advance(1500ms);
  sender.answer(0, 200);
  sender.answer(1, 486);
  text = m.render();
  BOOST_TEST(sample(text, "beckon_contact_request_transitions_total{state=\"delivered\"}") == 1);
  BOOST_TEST(sample(text, "beckon_contact_request_transitions_total{state=\"failed\"}") == 1);
  BOOST_TEST(sample(text, "beckon_contact_requests{state=\"notifying\"}") == 0);
  BOOST_TEST(sample(text, "beckon_contact_requests{state=\"delivered\"}") == 1);
  BOOST_TEST(sample(text, "beckon_contact_request_delivery_seconds_bucket{le=\"1\"}") == 0);
  BOOST_TEST(sample(text, "beckon_contact_request_delivery_seconds_bucket{le=\"2.5\"}") == 1);
  BOOST_TEST(sample(text, "beckon_contact_request_delivery_seconds_sum") == 1.5);

  clock.advance(10s);
  core.tick();  // r3 expires in the queue; the bindings expire an hour in
  text = m.render();
  BOOST_TEST(sample(text, "beckon_contact_request_transitions_total{state=\"expired\"}") == 1);
  BOOST_TEST(sample(text, "beckon_contact_requests{state=\"queued\"}") == 0);
  BOOST_TEST(sample(text, "beckon_contact_requests{state=\"expired\"}") == 1);

  clock.advance(2h);
  core.tick();  // ended requests dropped, every binding expired
  text = m.render();
  BOOST_TEST(sample(text, "beckon_contact_requests{state=\"delivered\"}") == 0);
  BOOST_TEST(sample(text, "beckon_contact_requests{state=\"expired\"}") == 0);
  BOOST_TEST(sample(text, "beckon_bindings") == 0);
  BOOST_TEST(sample(text, "beckon_subscriptions{kind=\"explicit\"}") == 0);
  BOOST_TEST(sample(text, "beckon_binding_changes_total{change=\"expired\"}") == 3);
  BOOST_TEST(sample(text, "beckon_subscription_changes_total{change=\"expired\"}") == 1);
}

BOOST_AUTO_TEST_CASE(a_481_unsubscribes_in_the_counts) {
  ManualClock clock;
  Answering sender;
  Core core(clock, sender);
  Metrics m;
  core.setMetrics(&m);
  core.upsertBinding(binding("100", clock));
  ContactMeParams p;
  p.deviceId = "100";
  p.requestId = "r1";
  core.contactMe(Caller{"crm"}, p);
  sender.answer(0, 481);
  core.tick();
  const std::string text = m.render();
  BOOST_TEST(sample(text, "beckon_bindings") == 1);
  BOOST_TEST(sample(text, "beckon_subscriptions{kind=\"implicit\"}") == 0);
}

BOOST_AUTO_TEST_CASE(restored_requests_count_where_they_are_not_as_created) {
  ManualClock clock;
  Answering sender;
  Core core(clock, sender);
  Metrics m;
  core.setMetrics(&m);
  StoredState saved;
  Binding b = binding("100", clock);
  b.id = 7;
  saved.bindings.push_back(b);
  std::uint64_t ids = 0;
  auto record = [&](const std::string& id, RequestState state) {
    RequestRecord r;
    r.id = ++ids;
    r.appServer = "crm";
    r.params.deviceId = id == "sent" ? "100" : "999";
    r.params.requestId = id;
    r.params.queueSeconds = 60;
    r.progress.state = state;
    r.createdAt = clock.now() - 1s;
    r.queueUntil = clock.now() + 59s;
    r.progress.nextAttempt = clock.now() + 10s;
    r.progress.endedAt = state == RequestState::Delivered ? clock.now() - 1s : TimePoint{};
    r.progress.rounds = state == RequestState::Queued ? 0 : 1;
    return r;
  };
  saved.requests = {record("waiting", RequestState::Queued),
                    record("sent", RequestState::Notifying),  // in flight: sent again
                    record("done", RequestState::Delivered)};
  core.restore(std::move(saved), nullptr);
  core.tick();
  const std::string text = m.render();
  BOOST_TEST(sample(text, "beckon_contact_requests_created_total") == 0);
  BOOST_TEST(sample(text, "beckon_contact_requests{state=\"queued\"}") == 1);
  BOOST_TEST(sample(text, "beckon_contact_requests{state=\"notifying\"}") == 1);
  BOOST_TEST(sample(text, "beckon_contact_requests{state=\"delivered\"}") == 1);
  BOOST_TEST(sample(text, "beckon_bindings") == 1);
  BOOST_TEST_REQUIRE(sender.pending.size() == 1u);
  sender.answer(0, 200);
  BOOST_TEST(sample(m.render(), "beckon_contact_requests{state=\"delivered\"}") == 2);
  BOOST_TEST(sample(m.render(), "beckon_contact_requests{state=\"notifying\"}") == 0);
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

class FakeExecutor final : public Executor {
 public:
  enum class Mode { Run, Hold, Refuse } mode = Mode::Run;
  bool post(std::function<void()> work) override {
    if (mode == Mode::Refuse) return false;
    if (mode == Mode::Hold) {
      held.push_back(std::move(work));
      return true;
    }
    std::thread(std::move(work)).join();
    return true;
  }
  std::vector<std::function<void()>> held;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(health)

BOOST_AUTO_TEST_CASE(every_check_must_pass) {
  HealthChecks h;
  BOOST_TEST(h.run().ok);
  BOOST_TEST(h.run().text == "ok\n");
  h.add("one", [] { return HealthChecks::Result{true, "fine"}; });
  BOOST_TEST(h.run().ok);
  BOOST_TEST(h.run().text == "ok\none: ok (fine)\n");
  h.add("two", []() -> HealthChecks::Result { throw std::runtime_error("broken"); });
  const auto r = h.run();
  BOOST_TEST(!r.ok);
  BOOST_TEST(r.text == "unhealthy\none: ok (fine)\ntwo: failed (broken)\n");
}

BOOST_AUTO_TEST_CASE(executor_check_is_bounded) {
  FakeExecutor e;
  BOOST_TEST(executorAnswers(e, 100ms).ok);
  e.mode = FakeExecutor::Mode::Refuse;
  BOOST_TEST(!executorAnswers(e, 100ms).ok);
  e.mode = FakeExecutor::Mode::Hold;
  const auto start = std::chrono::steady_clock::now();
  const auto r = executorAnswers(e, 50ms);
  BOOST_TEST(!r.ok);
  BOOST_TEST(r.detail == "no answer within 50 ms");
  BOOST_TEST((std::chrono::steady_clock::now() - start < 2s));
  // The no-op may still run after the check gave up.
  for (auto& w : e.held)
    w();
}

BOOST_AUTO_TEST_SUITE_END()
