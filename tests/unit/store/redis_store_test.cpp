// The Redis store against a real redis-server that each test starts on a
// free loopback port (AOF on, fsync always) and stops by its pid.
#include <boost/test/unit_test.hpp>
#include <hiredis/hiredis.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <future>
#include <memory>
#include <thread>

#include "redis_store.h"
#include "store_cases.h"

using namespace store_tests;

namespace {

std::uint16_t freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// One redis-server of the test's own.
class RedisServer {
 public:
  explicit RedisServer(fs::path dir) : dir_(std::move(dir)), port_(freePort()) { start(); }
  ~RedisServer() { stop(SIGTERM); }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  void start() {
    const std::string port = std::to_string(port_), dir = dir_.string();
    pid_ = ::fork();
    if (pid_ == 0) {
      // Its log in its directory, not in the test's output.
      const int log = ::open((dir_ / "redis.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (log >= 0) {
        ::dup2(log, 1);
        ::dup2(log, 2);
      }
      ::execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", dir.c_str(),
               "--loglevel", "warning", static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    BOOST_TEST_REQUIRE(pid_ > 0);
    // Ready once it answers PING (at most 10 s).
    for (int i = 0; i < 200; ++i) {
      if (ping()) return;
      std::this_thread::sleep_for(50ms);
    }
    BOOST_FAIL("redis-server did not start on port " << port_);
  }
  void stop(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  bool ping() { return command({"PING"}) == "PONG"; }
  // One command on a connection of its own; the reply as text ("" for nil).
  std::string command(const std::vector<std::string>& args) {
    const timeval tv{1, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
    if (!c || c->err) {
      if (c) redisFree(c);
      return "";
    }
    std::vector<const char*> argv;
    std::vector<std::size_t> len;
    for (const auto& a : args) {
      argv.push_back(a.data());
      len.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), len.data()));
    std::string out;
    if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)) {
      out.assign(r->str, r->len);
    } else if (r && r->type == REDIS_REPLY_INTEGER) {
      out = std::to_string(r->integer);
    }
    if (r) freeReplyObject(r);
    redisFree(c);
    return out;
  }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

 private:
  fs::path dir_;
  std::uint16_t port_;
  pid_t pid_ = -1;
};

struct Fixture {
  TempDir dir;
  RedisServer redis{dir.path};
  PumpedExecutor executor;
  store::RedisOptions options{redis.url(), "node-a", "sip:127.0.0.1:5060", 500ms};

  std::unique_ptr<store::RedisStore> open() {
    return std::make_unique<store::RedisStore>(options, executor);
  }
  void flush(Store& s) {
    bool done = false, ok = false;
    s.afterCommit([&](bool committed) { done = true, ok = committed; });
    BOOST_TEST_REQUIRE(executor.pumpUntil([&] { return done; }));
    BOOST_TEST_REQUIRE(ok);
  }
};

RequestRecord request(std::uint64_t id, const TimePoint now) {
  RequestRecord r;
  r.id = id;
  r.appServer = "crm";
  r.params = params("100", "r" + std::to_string(id), 60);
  r.createdAt = now;
  r.queueUntil = now + 60s;
  return r;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(redis_store, Fixture)

BOOST_AUTO_TEST_CASE(bindings_and_requests_come_back_as_saved) {
  cases::bindings_and_requests_come_back_as_saved(*this);
}

BOOST_AUTO_TEST_CASE(bytes_that_are_not_utf8_come_back_byte_for_byte) {
  cases::bytes_that_are_not_utf8_come_back_byte_for_byte(*this);
}

BOOST_AUTO_TEST_CASE(a_binding_names_the_node_that_holds_its_flow) {
  ManualClock clock;
  auto s = open();
  s->start();
  s->saveBinding(subscription(clock.now()));
  s->setAccessibleSince(clock.now());
  flush(*s);
  BOOST_TEST(redis.command({"HGET", "beckon:node-a:binding:7", "node"}) == "node-a");
  BOOST_TEST(redis.command({"HGET", "beckon:nodes", "node-a"}) == "sip:127.0.0.1:5060");
  // Another node's keys are its own: it does not load node-a's bindings.
  options.node = "node-b";
  BOOST_TEST(open()->load().bindings.empty());
}

BOOST_AUTO_TEST_CASE(a_waiter_is_told_true_only_once_redis_has_the_write) {
  ManualClock clock;
  auto s = open();
  s->saveRequest(request(1, clock.now()));
  std::optional<bool> told;
  s->whenCommitted([&](bool ok) {
    // Already readable in Redis when the waiter learns it.
    told = ok && redis.command({"HGET", "beckon:node-a:request:1", "request_id"}) == "r1";
  });
  BOOST_TEST(redis.command({"EXISTS", "beckon:node-a:request:1"}) == "0");
  s->commitQueued();
  BOOST_TEST_REQUIRE(told.has_value());
  BOOST_TEST(*told);
}

BOOST_AUTO_TEST_CASE(an_update_after_a_removal_leaves_nothing_behind) {
  ManualClock clock;
  auto s = open();
  s->saveRequest(request(1, clock.now()));
  s->commitQueued();
  RequestProgress p;
  p.state = RequestState::Delivered;
  p.rounds = 3;
  s->updateRequest(1, p);
  s->removeRequest(2);
  s->updateRequest(2, p);  // never saved, or removed before: no half a request
  s->commitQueued();
  BOOST_TEST(redis.command({"EXISTS", "beckon:node-a:request:2"}) == "0");
  const StoredState state = open()->load();
  BOOST_TEST_REQUIRE(state.requests.size() == 1u);
  BOOST_TEST(state.requests[0].progress.state == RequestState::Delivered);
  BOOST_TEST(state.requests[0].progress.rounds == 3u);
  BOOST_TEST(state.requests[0].params.sameContent(request(1, clock.now()).params));
  s->removeRequest(1);
  s->removeBinding(7);
  s->commitQueued();
  BOOST_TEST(open()->load().requests.empty());
}

BOOST_AUTO_TEST_CASE(without_redis_waiters_are_told_false_and_nothing_is_lost) {
  ManualClock clock;
  auto s = open();
  s->start();
  flush(*s);
  BOOST_TEST(s->linked());
  redis.stop(SIGKILL);
  s->saveRequest(request(1, clock.now()));
  std::promise<bool> first;
  s->whenCommitted([&](bool ok) { first.set_value(ok); });
  BOOST_TEST(!first.get_future().get());
  BOOST_TEST(!s->healthy());
  BOOST_TEST(!s->linked());
  BOOST_TEST(s->queued() >= 1u);
  // A write queued while Redis is away waits behind the first; its waiter
  // is told at once, not after the next try.
  s->saveRequest(request(2, clock.now()));
  std::promise<bool> second;
  const auto asked = std::chrono::steady_clock::now();
  s->whenCommitted([&](bool ok) { second.set_value(ok); });
  BOOST_TEST(!second.get_future().get());
  BOOST_TEST((std::chrono::steady_clock::now() - asked < 500ms));

  redis.start();  // the same AOF: what it had before
  std::optional<bool> stored;
  for (int i = 0; i < 100 && stored != true; ++i) {  // retried within 1 s of Redis' return
    std::promise<bool> p;
    s->whenCommitted([&](bool ok) { p.set_value(ok); });
    stored = p.get_future().get();
    if (!*stored) std::this_thread::sleep_for(100ms);
  }
  BOOST_TEST_REQUIRE((stored == true));
  BOOST_TEST(s->healthy());
  BOOST_TEST(s->linked());
  s->stop();
  const StoredState state = open()->load();
  BOOST_TEST(state.requests.size() == 2u);
}

BOOST_AUTO_TEST_CASE(what_was_acknowledged_survives_redis_killed_and_restarted) {
  ManualClock clock;
  {
    auto s = open();
    s->start();
    for (std::uint64_t id = 1; id <= 50; ++id)
      s->saveRequest(request(id, clock.now()));
    s->saveBinding(subscription(clock.now()));
    flush(*s);
  }
  redis.stop(SIGKILL);  // no shutdown save: only the AOF
  redis.start();
  const StoredState state = open()->load();
  BOOST_TEST(state.requests.size() == 50u);
  BOOST_TEST(state.bindings.size() == 1u);
}

BOOST_AUTO_TEST_CASE(load_says_when_redis_cannot_be_reached) {
  redis.stop(SIGTERM);
  try {
    open()->load();
    BOOST_FAIL("load() did not throw");
  } catch (const store::StoreError& e) {
    BOOST_TEST(std::string(e.what()).find("cannot reach Redis") != std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(redis_urls_are_parsed_or_refused_with_a_reason) {
  const auto a = store::parseRedisUrl("redis://:s3cret@10.0.0.5:6380/2");
  BOOST_TEST(a.host == "10.0.0.5");
  BOOST_TEST(a.port == 6380);
  BOOST_TEST(a.password == "s3cret");
  BOOST_TEST(a.user.empty());
  BOOST_TEST(a.db == 2);
  BOOST_TEST(a.display() == "redis://:***@10.0.0.5:6380/2");
  const auto b = store::parseRedisUrl("redis://beckon:pw@[::1]");
  BOOST_TEST(b.host == "::1");
  BOOST_TEST(b.port == 6379);
  BOOST_TEST(b.user == "beckon");
  BOOST_TEST(b.db == 0);
  BOOST_TEST(store::parseRedisUrl("rediss://h:1/0").tls);
  for (const char* bad : {"http://h", "redis://", "redis://h:0", "redis://h:99999", "redis://h/x",
                          "redis://h:12x", "redis://[::1"})
    BOOST_CHECK_THROW(store::parseRedisUrl(bad), std::invalid_argument);
  PumpedExecutor executor;
  try {
    store::RedisStore s({"rediss://127.0.0.1:1/0", "n", "", 100ms}, executor);
    BOOST_FAIL("rediss:// was taken");
  } catch (const store::StoreError& e) {
    BOOST_TEST(std::string(e.what()).find("store.redis_url") != std::string::npos);
  }
}
