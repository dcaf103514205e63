// store_load: the store alone under a contact-me load, without SIP or SOAP.
// CONCURRENCY requests are open at any time; each is saved as beckond saves
// a ContactMe (sent to one binding), waits for its commit (as the SOAP answer
// does), and is then updated as delivered and replaced by a new request.
// Reports requests/s, CPU per request (all threads) and writes per commit.
#include <sys/resource.h>

#include <CLI/CLI.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>

#include "sqlite_store.h"

namespace {

using namespace std::chrono_literals;

// The core's thread: runs what is posted, in order.
class Loop final : public beckon::Executor {
 public:
  bool post(std::function<void()> work) override {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(work));
    }
    wake_.notify_one();
    return true;
  }
  void runUntil(std::chrono::steady_clock::time_point end) {
    std::unique_lock lock(mutex_);
    while (std::chrono::steady_clock::now() < end) {
      if (!wake_.wait_until(lock, end, [&] { return !queue_.empty(); })) break;
      auto work = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      work();
      lock.lock();
    }
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
};

double cpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"store_load: ContactMe writes against the store alone"};
  std::string path;
  std::string synchronous = "full";
  unsigned concurrency = 32;
  double seconds = 10;
  cli.add_option("--store", path, "store file (created)")->required();
  cli.add_option("--synchronous", synchronous, "full or normal");
  cli.add_option("--concurrency", concurrency, "requests open at once");
  cli.add_option("--seconds", seconds, "how long");
  CLI11_PARSE(cli, argc, argv);

  Loop loop;
  beckon::store::SqliteStore store({path, synchronous}, loop);
  std::size_t commits = 0, writes = 0;
  store.onCommit([&](const beckon::store::CommitReport& r) {
    ++commits;  // on the writer thread; read after stop()
    writes += r.writes;
  });
  store.start();

  const auto now = std::chrono::system_clock::now();
  std::uint64_t next = 0, done = 0;
  std::function<void()> open = [&] {
    beckon::RequestRecord r;
    r.id = next + 1;
    r.appServer = "crm";
    r.params.deviceId = "sip:" + std::to_string(next % 1000) + "@example.com";
    r.params.requestId = "load-" + std::to_string(next++);
    r.params.server = "crm.example.com";
    r.params.port = 443;
    r.params.protocol = "https";
    r.params.path = "/callback";
    r.params.queueSeconds = 60;
    r.createdAt = now;
    r.queueUntil = now + 60s;
    beckon::RequestProgress& p = r.progress;
    p.state = beckon::RequestState::Notifying;
    p.rounds = 1;
    p.deliveries = {{next % 1000, "sip:device@127.0.0.2:5060", beckon::Transport::Udp, 0,
                     "waiting for answer", now, true}};
    const std::uint64_t id = r.id;
    beckon::RequestProgress answered = p;
    store.saveRequest(std::move(r));
    store.afterCommit([&, id, answered](bool) mutable {
      answered.state = beckon::RequestState::Delivered;
      answered.deliveries[0].sipStatus = 200;
      answered.deliveries[0].reason = "OK";
      answered.deliveries[0].inFlight = false;
      answered.endedAt = now;
      store.updateRequest(id, std::move(answered));
      ++done;
      open();
    });
  };
  loop.post([&] {
    for (unsigned i = 0; i < concurrency; ++i)
      open();
  });
  const double cpu0 = cpuSeconds();
  const auto start = std::chrono::steady_clock::now();
  loop.runUntil(start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(seconds)));
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = cpuSeconds() - cpu0;
  const std::uint64_t finished = done;
  store.stop();
  std::printf(
      "store_load: synchronous=%s concurrency=%u requests=%llu requests_per_s=%.0f "
      "cpu_us_a_request=%.1f writes_a_commit=%.1f commits_per_s=%.0f\n",
      synchronous.c_str(), concurrency, static_cast<unsigned long long>(finished),
      static_cast<double>(finished) / elapsed, 1e6 * cpu / static_cast<double>(finished),
      static_cast<double>(writes) / static_cast<double>(commits),
      static_cast<double>(commits) / elapsed);
  return 0;
}
