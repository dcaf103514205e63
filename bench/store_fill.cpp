// Fills a store for the start-up benchmark (bench/startup.sh): BINDINGS UDP
// registrations and REQUESTS contact requests queued for devices that are
// not registered, as a running beckond would have saved them.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>

#include "sqlite_store.h"

namespace {

// The store's callbacks would run on the SIP thread; here nobody waits.
class NoThread final : public beckon::Executor {
 public:
  bool post(std::function<void()>) override { return false; }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"store_fill: a store with many bindings and queued requests"};
  std::string path;
  unsigned bindings = 100000, requests = 10000;
  cli.add_option("--store", path, "store file (created)")->required();
  cli.add_option("--bindings", bindings, "registrations");
  cli.add_option("--requests", requests, "queued contact requests");
  CLI11_PARSE(cli, argc, argv);

  using namespace std::chrono_literals;
  NoThread executor;
  beckon::store::SqliteStore store({path, "normal"}, executor);
  const auto now = std::chrono::system_clock::now();
  for (unsigned i = 1; i <= bindings; ++i) {
    beckon::Binding b;
    b.id = i;
    b.updated = i;
    b.aor = "sip:u" + std::to_string(i) + "@example.com";
    b.contact = "sip:u" + std::to_string(i) + "@127.0.0.2:5999";
    char uuid[64];
    std::snprintf(uuid, sizeof uuid, "urn:uuid:00000000-0000-4000-8000-%012u", i);
    b.instance = uuid;
    b.transport = beckon::Transport::Udp;
    b.sourceHost = "127.0.0.1";
    b.sourcePort = static_cast<std::uint16_t>(20000 + i % 40000);
    b.listener = "l0";
    b.expires = now + 3600s;
    b.callId = "c" + std::to_string(i) + "@127.0.0.1";
    b.cseq = 1;
    b.packages = {{beckon::kDefaultPackage, beckon::BodyFormat::Text, true}};
    store.saveBinding(b);
  }
  for (unsigned i = 1; i <= requests; ++i) {
    beckon::RequestRecord r;
    r.id = i;
    r.appServer = "local";
    r.params.deviceId = "sip:absent" + std::to_string(i) + "@example.com";
    r.params.requestId = "queued-" + std::to_string(i);
    r.params.server = "crm.example.com";
    r.params.queueSeconds = 3600;
    r.progress.state = beckon::RequestState::Queued;
    r.createdAt = now;
    r.queueUntil = now + 3600s;
    r.progress.nextAttempt = now + 3600s;
    store.saveRequest(std::move(r));
  }
  store.stop();  // commits what is queued, in one transaction
  std::printf("%s: %u bindings, %u queued requests\n", path.c_str(), bindings, requests);
  return 0;
}
