#include <boost/test/unit_test.hpp>
#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "core.h"
#include "printers.h"
#include "recording_sender.h"
#include "schema.h"
#include "sqlite_store.h"
#include "store_cases.h"

using namespace beckon;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using namespace store_tests;

namespace {

struct Fixture {
  TempDir dir;
  PumpedExecutor executor;
  store::SqliteOptions options{(dir.path / "beckon.db").string(), "normal"};

  std::unique_ptr<store::SqliteStore> open() {
    auto s = std::make_unique<store::SqliteStore>(options, executor);
    return s;
  }
  // Waits until everything written to `s` so far is committed.
  void flush(Store& s) {
    bool done = false, ok = false;
    s.afterCommit([&](bool committed) { done = true, ok = committed; });
    BOOST_TEST_REQUIRE(executor.pumpUntil([&] { return done; }));
    BOOST_TEST_REQUIRE(ok);
  }
  // Makes the store as a beckond of schema `version` left it, with `sql` run.
  void storeOfVersion(int version, const char* sql) {
    sqlite3* db = nullptr;
    BOOST_TEST_REQUIRE(sqlite3_open(options.path.c_str(), &db) == SQLITE_OK);
    store::migrate(db, version);
    BOOST_TEST_REQUIRE(sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  int count(const std::string& table) {
    sqlite3* db = nullptr;
    sqlite3_open_v2(options.path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db, ("SELECT count(*) FROM " + table).c_str(), -1, &stmt, nullptr);
    const int n = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : -1;
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return n;
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(sqlite_store, Fixture)

BOOST_AUTO_TEST_CASE(bindings_and_requests_come_back_as_saved) {
  cases::bindings_and_requests_come_back_as_saved(*this);
}

BOOST_AUTO_TEST_CASE(after_commit_runs_once_the_writes_before_it_are_on_disk) {
  ManualClock clock;
  auto s = open();
  s->start();
  Binding b = subscription(clock.now());
  for (std::uint64_t id = 1; id <= 500; ++id) {
    b.id = id;
    s->saveBinding(b);
  }
  int seen = -1;
  bool done = false;
  // Another connection, as an operator's sqlite3 would be, sees them all.
  s->afterCommit([&](bool) { seen = count("bindings"), done = true; });
  BOOST_TEST_REQUIRE(executor.pumpUntil([&] { return done; }));
  BOOST_TEST(seen == 500);
  s->removeBinding(1);
  s->removeRequest(77);  // no such request
  flush(*s);
  BOOST_TEST(count("bindings") == 499);
}

BOOST_AUTO_TEST_CASE(when_committed_runs_on_the_writer_once_the_writes_before_it_are_on_disk) {
  ManualClock clock;
  auto s = open();
  s->start();
  Binding b = subscription(clock.now());
  for (std::uint64_t id = 1; id <= 200; ++id) {
    b.id = id;
    s->saveBinding(b);
  }
  std::promise<std::pair<int, std::thread::id>> seen;
  s->whenCommitted([&](bool committed) {
    seen.set_value({committed ? count("bindings") : -1, std::this_thread::get_id()});
  });
  // Nobody pumps the core's executor: the writer itself tells.
  auto result = seen.get_future();
  BOOST_TEST_REQUIRE((result.wait_for(10s) == std::future_status::ready));
  const auto [rows, thread] = result.get();
  BOOST_TEST(rows == 200);
  BOOST_TEST((thread != std::this_thread::get_id()));
}

BOOST_AUTO_TEST_CASE(changes_are_counted_not_the_callbacks_waiting_for_them) {
  ManualClock clock;
  auto s = open();
  std::size_t writes = 0;
  s->onCommit([&](const store::CommitReport& r) { writes += r.writes; });  // writer thread
  s->saveBinding(subscription(clock.now()));
  s->whenCommitted([](bool) {});
  s->removeBinding(1);
  s->afterCommit([](bool) {});
  BOOST_TEST(s->queued() == 2u);  // /healthz and beckon_store_queue_depth
  s->start();
  s->stop();  // commits what is queued and joins the writer
  BOOST_TEST(writes == 2u);
}

BOOST_AUTO_TEST_CASE(a_failed_commit_is_reported_to_every_waiter) {
  ManualClock clock;
  auto s = open();
  s->start();
  flush(*s);
  {
    // The table goes away under the store (a damaged or tampered file).
    sqlite3* db = nullptr;
    sqlite3_open(options.path.c_str(), &db);
    BOOST_TEST_REQUIRE(sqlite3_exec(db, "DROP TABLE requests", nullptr, nullptr, nullptr) ==
                       SQLITE_OK);
    sqlite3_close(db);
  }
  RequestRecord r;
  r.appServer = "crm";
  r.params = params("100", "r1");
  s->saveRequest(r);
  std::promise<bool> told;
  bool done = false, committed = true;
  s->whenCommitted([&](bool ok) { told.set_value(ok); });
  s->afterCommit([&](bool ok) { done = true, committed = ok; });
  BOOST_TEST_REQUIRE(executor.pumpUntil([&] { return done; }));
  BOOST_TEST(!committed);
  auto result = told.get_future();
  BOOST_TEST_REQUIRE((result.wait_for(10s) == std::future_status::ready));
  BOOST_TEST(!result.get());
  BOOST_TEST(!s->healthy());
}

BOOST_AUTO_TEST_CASE(a_write_queued_after_a_failed_one_waits_for_it) {
  // The writer driven by hand: no timing. The table is renamed away under
  // the store (a damaged or tampered file), then back.
  auto rename = [&](const char* from, const char* to) {
    sqlite3* db = nullptr;
    sqlite3_open(options.path.c_str(), &db);
    const std::string sql = std::string("ALTER TABLE ") + from + " RENAME TO " + to;
    BOOST_TEST_REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  };
  auto s = open();
  rename("requests", "requests_away");
  RequestRecord r;
  r.id = 1;
  r.appServer = "crm";
  r.params = params("100", "r1");
  s->saveRequest(r);
  std::optional<bool> first, second, third, bindingTold;
  s->whenCommitted([&](bool ok) { first = ok; });
  s->commitQueued();
  BOOST_TEST_REQUIRE(first.has_value());
  BOOST_TEST(!*first);
  BOOST_TEST(!s->healthy());
  BOOST_TEST(s->queued() == 1u);  // kept, not dropped

  // A later write that would commit alone: its waiter is still told false,
  // since the request queued before it is not stored.
  ManualClock clock;
  s->saveBinding(subscription(clock.now()));
  s->whenCommitted([&](bool ok) { second = ok; });
  s->commitQueued();
  BOOST_TEST_REQUIRE(second.has_value());
  BOOST_TEST(!*second);
  BOOST_TEST(s->queued() == 2u);

  rename("requests_away", "requests");
  s->whenCommitted([&](bool ok) { third = ok; });
  s->commitQueued();
  BOOST_TEST_REQUIRE(third.has_value());
  BOOST_TEST(*third);
  BOOST_TEST(s->healthy());
  BOOST_TEST(s->queued() == 0u);
  s.reset();
  const StoredState state = open()->load();
  BOOST_TEST_REQUIRE(state.requests.size() == 1u);
  BOOST_TEST(state.requests[0].params.requestId == "r1");
  BOOST_TEST(state.bindings.size() == 1u);
}

BOOST_AUTO_TEST_CASE(bytes_that_are_not_utf8_come_back_byte_for_byte) {
  cases::bytes_that_are_not_utf8_come_back_byte_for_byte(*this);
}

BOOST_AUTO_TEST_CASE(the_last_write_of_a_group_wins) {
  ManualClock clock;
  auto s = open();
  Binding b = subscription(clock.now());
  s->saveBinding(b);  // queued before the writer starts: one group
  s->removeBinding(b.id);
  b.id = 8;
  s->saveBinding(b);
  RequestRecord r;
  r.id = 1;
  r.appServer = "crm";
  r.params = params("100", "r1");
  s->saveRequest(r);
  RequestProgress sent;
  sent.state = RequestState::Notifying;
  sent.rounds = 1;
  s->updateRequest(1, sent);
  RequestProgress answered = sent;
  answered.state = RequestState::Delivered;
  s->updateRequest(1, answered);
  r.id = 2;
  r.params.requestId = "gone";
  s->saveRequest(r);
  s->updateRequest(2, sent);
  s->removeRequest(2);
  s->updateRequest(2, answered);  // after its removal: nothing to update
  s->start();
  flush(*s);
  s.reset();
  const StoredState state = open()->load();
  BOOST_TEST_REQUIRE(state.bindings.size() == 1u);
  BOOST_TEST(state.bindings[0].id == 8u);
  BOOST_TEST_REQUIRE(state.requests.size() == 1u);
  BOOST_TEST(state.requests[0].params.requestId == "r1");
  BOOST_TEST(state.requests[0].progress.state == RequestState::Delivered);
  BOOST_TEST(state.requests[0].progress.rounds == 1u);
}

BOOST_AUTO_TEST_CASE(an_update_changes_the_progress_and_keeps_the_parameters) {
  ManualClock clock;
  RequestRecord r;
  r.id = 5;
  r.appServer = "crm";
  r.params = params("100", "r1", 60);
  r.createdAt = clock.now();
  r.queueUntil = clock.now() + 60s;
  RequestProgress answered;
  answered.state = RequestState::Delivered;
  answered.deliveries = {{7, "sip:100@127.0.0.2", Transport::Udp, 200, "OK", clock.now(), false}};
  answered.endedAt = clock.now() + 1s;
  answered.rounds = 1;
  answered.refusedBy = {4};
  {
    auto s = open();
    s->start();
    s->saveRequest(r);
    flush(*s);  // the insert and the update in two groups
    s->updateRequest(5, answered);
    s->updateRequest(6, answered);  // no such row: changes nothing
    flush(*s);
  }
  const StoredState state = open()->load();
  BOOST_TEST_REQUIRE(state.requests.size() == 1u);
  const RequestRecord& q = state.requests[0];
  BOOST_TEST(q.params.sameContent(r.params));
  BOOST_TEST((q.createdAt == r.createdAt));
  BOOST_TEST((q.queueUntil == r.queueUntil));
  BOOST_TEST(q.progress.state == RequestState::Delivered);
  BOOST_TEST_REQUIRE(q.progress.deliveries.size() == 1u);
  BOOST_TEST(q.progress.deliveries[0].sipStatus == 200);
  BOOST_TEST(!q.progress.deliveries[0].inFlight);
  BOOST_TEST((q.progress.endedAt == answered.endedAt));
  BOOST_TEST(q.progress.rounds == 1u);
  BOOST_TEST(q.progress.refusedBy == answered.refusedBy);
}

BOOST_AUTO_TEST_CASE(a_version_1_store_is_migrated) {
  storeOfVersion(
      1,
      "INSERT INTO bindings VALUES (3, 1, 'sip:200@example.com', 'sip:200@127.0.0.2:5999', '', "
      "'', '', 'udp', '127.0.0.1', 5999, 9999999999999, '', 'c@h', 1, 1.0, "
      "'application-server-contact-me;text;implicit', 0, '', '')");
  auto s = open();
  const StoredState state = s->load();
  BOOST_TEST_REQUIRE(state.bindings.size() == 1u);
  BOOST_TEST(state.bindings[0].aor == "sip:200@example.com");
  BOOST_TEST(state.bindings[0].listener == "");  // unknown to version 1
  BOOST_TEST_REQUIRE(state.bindings[0].packages.size() == 1u);

  sqlite3* db = nullptr;
  sqlite3_open(options.path.c_str(), &db);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr);
  sqlite3_step(stmt);
  BOOST_TEST(sqlite3_column_int(stmt, 0) == store::kSchemaVersion);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

BOOST_AUTO_TEST_CASE(a_version_2_store_numbers_its_requests_in_the_order_they_were_made) {
  // Keyed by request id in version 2: "a-late" sorts first, was made last.
  storeOfVersion(2,
                 "INSERT INTO requests VALUES ('crm', 'a-late', "
                 "'{\"deviceId\":\"100\",\"requestId\":\"a-late\"}', 'queued', '[]', 2000, "
                 "9000, 2000, 0, 0, 0, '[]');"
                 "INSERT INTO requests VALUES ('crm', 'z-early', "
                 "'{\"deviceId\":\"100\",\"requestId\":\"z-early\"}', 'delivered', '[]', "
                 "1000, 9000, 1000, 1500, 1, 0, '[4]');");
  const StoredState state = open()->load();
  BOOST_TEST_REQUIRE(state.requests.size() == 2u);
  BOOST_TEST(state.requests[0].params.requestId == "z-early");
  BOOST_TEST(state.requests[0].id == 1u);
  BOOST_TEST(state.requests[0].progress.state == RequestState::Delivered);
  BOOST_TEST(state.requests[0].progress.refusedBy == std::vector<std::uint64_t>{4});
  BOOST_TEST(state.requests[1].params.requestId == "a-late");
  BOOST_TEST(state.requests[1].id == 2u);
  BOOST_TEST(state.requests[1].progress.state == RequestState::Queued);
}

// RFC 8599: a device without a flow is woken after a restart as before it.
BOOST_AUTO_TEST_CASE(a_bindings_push_parameters_come_back) {
  ManualClock clock;
  Binding saved = subscription(clock.now());
  saved.push = {"apns", "a1b2c3;=%\xc3\xa9", "app.voip"};
  {
    auto s = open();
    s->start();
    s->saveBinding(saved);
    flush(*s);
  }
  const StoredState state = open()->load();
  BOOST_TEST_REQUIRE(state.bindings.size() == 1u);
  BOOST_TEST((state.bindings[0].push == saved.push));
}

BOOST_AUTO_TEST_CASE(a_version_3_store_is_migrated_without_push_parameters) {
  storeOfVersion(
      3,
      "INSERT INTO bindings VALUES (3, 1, 'sip:200@example.com', "
      "'sip:200@127.0.0.2:5999;pn-provider=apns;pn-prid=x', '', '', '', 'udp', '127.0.0.1', "
      "5999, 9999999999999, '', 'c@h', 1, 1.0, 'application-server-contact-me;text;implicit', "
      "0, '', '', 'l0')");
  const StoredState state = open()->load();
  BOOST_TEST_REQUIRE(state.bindings.size() == 1u);
  BOOST_TEST(state.bindings[0].listener == "l0");
  // Made before beckond offered push: its device never saw +sip.pns.
  BOOST_TEST(state.bindings[0].push.empty());
  BOOST_TEST(state.bindings[0].push.provider.empty());
}

// Requests are keyed by number: a second row of the same request (beckond
// writes none; a hand-edited or merged file might) is dropped, not kept for ever.
BOOST_AUTO_TEST_CASE(a_request_stored_twice_is_restored_once) {
  ManualClock clock;
  RequestRecord r;
  r.appServer = "crm";
  r.params = params("100", "twice", 600);
  r.createdAt = clock.now();
  r.queueUntil = clock.now() + 600s;
  {
    auto s = open();
    s->start();
    for (std::uint64_t id : {3, 9}) {
      r.id = id;
      s->saveRequest(r);
    }
    flush(*s);
  }
  BOOST_TEST(count("requests") == 2);
  RecordingSender sender;
  Core core(clock, sender);
  auto s = open();
  StoredState state = s->load();
  s->start();
  core.setStore(s.get());
  core.restore(std::move(state), nullptr);
  BOOST_TEST(core.status(Caller{"crm"}, "twice").state == RequestState::Queued);
  flush(*s);
  BOOST_TEST(count("requests") == 1);
}

BOOST_AUTO_TEST_CASE(a_store_from_a_newer_beckond_is_refused) {
  sqlite3* db = nullptr;
  sqlite3_open(options.path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  try {
    open();
    BOOST_FAIL("a newer store was opened");
  } catch (const store::StoreError& e) {
    BOOST_TEST(std::string(e.what()).find("newer") != std::string::npos);
    BOOST_TEST(std::string(e.what()).find(options.path) != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(a_bad_synchronous_setting_is_refused) {
  options.synchronous = "sometimes";
  BOOST_CHECK_THROW(open(), store::StoreError);
}

// The core with the store: what one run saved, the next one carries on.
BOOST_AUTO_TEST_CASE(the_core_carries_on_where_it_stopped) {
  ManualClock clock;
  const Caller app{"crm"};
  const std::string phone = "urn:uuid:00000000-0000-4000-8000-000000000001";
  const std::string absent = "urn:uuid:00000000-0000-4000-8000-000000000002";
  auto device = [&](const std::string& user, const std::string& instance, seconds expires) {
    Binding b;
    b.aor = "sip:" + user + "@example.com";
    b.contact = "sip:" + user + "@127.0.0.2:5999";
    b.instance = instance;
    b.listener = "l0";
    b.expires = clock.now() + expires;
    b.packages = {{kPkg, BodyFormat::Text, true}};
    return b;
  };
  {
    RecordingSender sender;
    Core core(clock, sender);
    auto s = open();
    s->start();
    core.setStore(s.get());
    core.upsertBinding(device("100", phone, 3600s));
    core.upsertBinding(device("101", "", 30s));  // expires while beckond is down
    core.contactMe(app, params(phone, "delivered"));
    sender.answer(0, 200, "OK");
    core.contactMe(app, params(phone, "in-flight"));  // never answered
    core.contactMe(app, params(absent, "queued", 600));
    core.contactMe(app, params(phone, "cancelled-while-out"));
    core.cancel(app, "cancelled-while-out");
    BOOST_TEST(core.status(app, "queued").state == RequestState::Queued);
    flush(*s);
  }  // beckond is gone; what it acknowledged is on disk

  clock.advance(60s);
  RecordingSender sender;
  Core core(clock, sender);
  auto s = open();
  StoredState state = s->load();
  BOOST_TEST(state.bindings.size() == 2u);
  BOOST_TEST(state.requests.size() == 4u);
  s->start();
  core.setStore(s.get());
  std::size_t attached = 0;
  core.restore(std::move(state), [&](Binding&) { ++attached; });
  BOOST_TEST(attached == 1u);  // the expired one is dropped
  BOOST_TEST(core.bindings().size() == 1u);

  BOOST_TEST(core.status(app, "delivered").state == RequestState::Delivered);
  BOOST_TEST(core.status(app, "cancelled-while-out").state == RequestState::Cancelled);
  // What was in flight goes out again, though its queue time is over.
  BOOST_TEST_REQUIRE(sender.sent.size() == 1u);
  BOOST_TEST(sender.sent[0].notify.requestId == "in-flight");
  const ContactStatus out = core.status(app, "in-flight");
  BOOST_TEST(out.state == RequestState::Notifying);
  BOOST_TEST_REQUIRE(out.deliveries.size() == 2u);
  BOOST_TEST(out.deliveries[0].reason == "no answer before beckond stopped");
  sender.answer(0, 200, "OK");
  BOOST_TEST(core.status(app, "in-flight").state == RequestState::Delivered);

  // The queued one waits on, and is delivered when its device registers.
  BOOST_TEST(core.status(app, "queued").state == RequestState::Queued);
  core.upsertBinding(device("102", absent, 3600s));
  BOOST_TEST_REQUIRE(sender.sent.size() == 2u);
  BOOST_TEST(sender.sent[1].notify.requestId == "queued");
  // New bindings get ids the old ones did not have.
  BOOST_TEST(sender.sent[1].bindingId != sender.sent[0].bindingId);
  // And new requests numbers: the four old rows stay, one is added.
  core.contactMe(app, params(phone, "after-restart"));
  flush(*s);
  BOOST_TEST(count("bindings") == 2);
  BOOST_TEST(count("requests") == 5);
}

BOOST_AUTO_TEST_SUITE_END()
