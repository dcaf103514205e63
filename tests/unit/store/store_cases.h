// What the SQLite and the Redis store tests share: the core's thread played
// by the test, a temporary directory, the records they save, and the cases
// both stores must pass (each test file runs them with its own fixture: one
// with open() and flush(Store&)).
#pragma once

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include "clock.h"
#include "core.h"
#include "printers.h"
#include "store.h"

namespace store_tests {

using namespace beckon;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

const std::string kPkg = kDefaultPackage;

// The core's thread, played by the test: posted work waits until pump().
class PumpedExecutor final : public Executor {
 public:
  bool post(std::function<void()> work) override {
    {
      std::lock_guard lock(mutex_);
      work_.push_back(std::move(work));
    }
    posted_.notify_all();
    return true;
  }
  // Runs posted work until `done` holds (at most 5 s).
  template <class Pred>
  bool pumpUntil(Pred done) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!done()) {
      std::vector<std::function<void()>> work;
      {
        std::unique_lock lock(mutex_);
        if (!posted_.wait_until(lock, deadline, [&] { return !work_.empty(); })) return false;
        work.swap(work_);
      }
      for (auto& w : work)
        w();
    }
    return true;
  }

 private:
  std::mutex mutex_;
  std::condition_variable posted_;
  std::vector<std::function<void()>> work_;
};

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("beckon-store-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  static int& counter() {
    static int n = 0;
    return n;
  }
};

Binding subscription(const TimePoint now) {
  Binding b;
  b.id = 7;
  b.updated = 12;
  b.aor = "sip:100@example.com";
  b.contact = "sip:100@127.0.0.2:5999;transport=tcp";
  b.instance = "urn:uuid:00000000-0000-4000-8000-000000000001";
  b.regId = "1";
  b.tempGruu = "tgruu.0123456789abcdef";
  b.transport = Transport::Tcp;
  b.sourceHost = "127.0.0.1";
  b.sourcePort = 40123;
  b.listener = "l1";
  b.expires = now + 600s;
  b.path = {"<sip:edge.example.com;lr>", "<sip:core.example.com;lr;ob>"};
  b.callId = "abc@127.0.0.2";
  b.cseq = 41;
  b.q = 0.5f;
  b.packages = {{kPkg, BodyFormat::Xml, false}, {"other-package", BodyFormat::Text, true}};
  b.unreachable = true;
  b.dialogId = "abc@127.0.0.2;remote;local";
  b.dialogState = {"<sip:100@example.com>;tag=local",
                   "<sip:100@example.com>;tag=remote",
                   "sip:100@127.0.0.2:5999;transport=tcp",
                   {"<sip:proxy.example.com;lr>"},
                   3456};
  return b;
}

ContactMeParams params(std::string device, std::string id, std::uint32_t queueSeconds = 0) {
  ContactMeParams p;
  p.deviceId = std::move(device);
  p.requestId = std::move(id);
  p.server = "crm.example.com";
  p.port = 8443;
  p.protocol = "https";
  p.path = "/wake";
  p.alternateServers = {"backup.example.com:8443"};
  p.function = "sync";
  p.timeSlot = "5";
  p.queueSeconds = queueSeconds;
  p.waitMs = 1500;
  return p;
}

namespace cases {

template <class F>
void bindings_and_requests_come_back_as_saved(F& f) {
  ManualClock clock;
  const Binding saved = subscription(clock.now());
  RequestRecord r;
  r.id = 42;
  r.appServer = "crm";
  r.params = params("100", "r1", 60);
  r.progress.state = RequestState::Notifying;
  r.progress.deliveries = {
      {7, saved.contact, Transport::Tcp, 0, "waiting for answer", clock.now(), true}};
  r.createdAt = clock.now();
  r.queueUntil = clock.now() + 60s;
  r.progress.nextAttempt = clock.now() + 2s;
  r.progress.rounds = 2;
  r.progress.cancelled = true;
  r.progress.refusedBy = {3, 5};
  RequestRecord plain;  // every optional parameter left at its default
  plain.id = 43;
  plain.appServer = "crm";
  plain.params.deviceId = "101";
  plain.params.requestId = "r2";
  {
    auto s = f.open();
    s->start();
    s->saveBinding(saved);
    s->saveRequest(r);
    s->saveRequest(plain);
    s->setAccessibleSince(clock.now());
    f.flush(*s);
  }
  auto s = f.open();
  const StoredState state = s->load();
  BOOST_TEST_REQUIRE(state.bindings.size() == 1u);
  const Binding& b = state.bindings[0];
  BOOST_TEST(b.id == saved.id);
  BOOST_TEST(b.updated == saved.updated);
  BOOST_TEST(b.aor == saved.aor);
  BOOST_TEST(b.contact == saved.contact);
  BOOST_TEST(b.instance == saved.instance);
  BOOST_TEST(b.regId == saved.regId);
  BOOST_TEST(b.tempGruu == saved.tempGruu);
  BOOST_TEST((b.transport == Transport::Tcp));
  BOOST_TEST(b.sourceHost == saved.sourceHost);
  BOOST_TEST(b.sourcePort == saved.sourcePort);
  BOOST_TEST(b.listener == "l1");
  BOOST_TEST((b.expires == saved.expires));
  BOOST_TEST(b.path == saved.path);
  BOOST_TEST(b.callId == saved.callId);
  BOOST_TEST(b.cseq == saved.cseq);
  BOOST_TEST(b.q == 0.5f);
  BOOST_TEST_REQUIRE(b.packages.size() == 2u);
  BOOST_TEST(b.packages[0].package == kPkg);
  BOOST_TEST((b.packages[0].format == BodyFormat::Xml));
  BOOST_TEST(!b.packages[0].implicit);
  BOOST_TEST(b.packages[1].package == "other-package");
  BOOST_TEST(b.packages[1].implicit);
  BOOST_TEST(b.unreachable);
  BOOST_TEST(b.dialogId == saved.dialogId);
  BOOST_TEST(b.dialogState.local == saved.dialogState.local);
  BOOST_TEST(b.dialogState.remote == saved.dialogState.remote);
  BOOST_TEST(b.dialogState.target == saved.dialogState.target);
  BOOST_TEST(b.dialogState.routeSet == saved.dialogState.routeSet);
  BOOST_TEST(b.dialogState.localCseq == 3456u);

  BOOST_TEST_REQUIRE(state.requests.size() == 2u);
  const RequestRecord& q = state.requests[0];
  BOOST_TEST(q.id == 42u);
  BOOST_TEST(q.appServer == "crm");
  BOOST_TEST(q.params.sameContent(r.params));
  BOOST_TEST(q.params.waitMs == 1500u);
  BOOST_TEST(q.progress.state == RequestState::Notifying);
  BOOST_TEST_REQUIRE(q.progress.deliveries.size() == 1u);
  BOOST_TEST(q.progress.deliveries[0].bindingId == 7u);
  BOOST_TEST(q.progress.deliveries[0].inFlight);
  BOOST_TEST((q.queueUntil == r.queueUntil));
  BOOST_TEST((q.progress.nextAttempt == r.progress.nextAttempt));
  BOOST_TEST(q.progress.rounds == 2u);
  BOOST_TEST(q.progress.cancelled);
  BOOST_TEST(q.progress.refusedBy == r.progress.refusedBy);
  const ContactMeParams& p = state.requests[1].params;
  BOOST_TEST(p.sameContent(plain.params));
  BOOST_TEST(!p.port.has_value());
  BOOST_TEST(p.waitMs == kDefaultWaitMs);
  BOOST_TEST(p.queueSeconds == 0u);
  BOOST_TEST_REQUIRE(state.accessibleSince.has_value());
  BOOST_TEST((*state.accessibleSince == clock.now()));
}

template <class F>
void bytes_that_are_not_utf8_come_back_byte_for_byte(F& f) {
  // What a hostile device or application server may send: a Latin-1 byte,
  // a truncated sequence, an overlong form, a surrogate, a NUL.
  const std::string bad =
      std::string("\xc3\x28\xff\xe2\x82\xc0\xaf\xed\xa0\x80", 10) + std::string("\0z", 2);
  ManualClock clock;
  Binding saved = subscription(clock.now());
  saved.aor = "sip:" + bad + "@example.com";
  saved.contact = "<sip:" + bad + "@127.0.0.2:5999;x=" + bad + ">";
  saved.instance = bad;
  saved.regId = bad;
  saved.path = {"<sip:" + bad + "@127.0.0.1:5999;lr>", "<sip:ok;lr>"};
  saved.callId = bad;
  saved.dialogId = bad;
  saved.dialogState = {bad, "<sip:a>;tag=" + bad, bad, {bad}, 1};
  saved.push = {bad, bad, bad};
  RequestRecord r;
  r.id = 9;
  r.appServer = bad;
  r.params = params(bad, bad);
  r.params.server = r.params.path = r.params.function = r.params.timeSlot = bad;
  r.params.protocol = r.params.onBehalfOf = r.params.package = bad;
  r.params.alternateServers = {bad, "b"};
  r.progress.deliveries = {{7, bad, Transport::Udp, 486, bad, clock.now(), false}};
  {
    auto s = f.open();
    s->saveBinding(saved);
    s->saveRequest(r);
    std::optional<bool> told;
    s->whenCommitted([&](bool ok) { told = ok; });
    s->commitQueued();
    BOOST_TEST_REQUIRE(told.has_value());
    BOOST_TEST(*told);
  }
  const StoredState state = f.open()->load();
  BOOST_TEST_REQUIRE(state.bindings.size() == 1u);
  const Binding& b = state.bindings[0];
  BOOST_TEST(b.aor == saved.aor);
  BOOST_TEST(b.contact == saved.contact);
  BOOST_TEST(b.instance == bad);
  BOOST_TEST(b.regId == bad);
  BOOST_TEST(b.path == saved.path);
  BOOST_TEST(b.callId == bad);
  BOOST_TEST(b.dialogId == bad);
  BOOST_TEST(b.dialogState.local == bad);
  BOOST_TEST(b.dialogState.remote == saved.dialogState.remote);
  BOOST_TEST(b.dialogState.target == bad);
  BOOST_TEST(b.dialogState.routeSet == saved.dialogState.routeSet);
  BOOST_TEST(b.push.provider == bad);
  BOOST_TEST(b.push.prid == bad);
  BOOST_TEST(b.push.param == bad);
  BOOST_TEST_REQUIRE(state.requests.size() == 1u);
  const RequestRecord& q = state.requests[0];
  BOOST_TEST(q.appServer == bad);
  BOOST_TEST(q.params.sameContent(r.params));
  BOOST_TEST(q.params.deviceId == bad);
  BOOST_TEST(q.params.onBehalfOf == bad);
  BOOST_TEST(q.params.alternateServers == r.params.alternateServers);
  BOOST_TEST_REQUIRE(q.progress.deliveries.size() == 1u);
  BOOST_TEST(q.progress.deliveries[0].contact == bad);
  BOOST_TEST(q.progress.deliveries[0].reason == bad);
}

}  // namespace cases

}  // namespace store_tests
