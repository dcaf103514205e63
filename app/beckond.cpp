// beckond: the daemon. Reads the configuration, starts the SIP thread (which
// owns the core) and the SOAP listener (with /metrics and /healthz), reloads
// what can be reloaded on SIGHUP, rotates the proxy's Record-Route key on
// SIGUSR1, and stops them in the reverse order on SIGTERM or SIGINT.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <future>
#include <cstdio>
#include <iostream>
#include <pthread.h>

#include "check.h"
#include "config.h"
#include "core.h"
#include "dialog_keys.h"
#include "health.h"
#include "logfmt.h"
#include "logging.h"
#include "metrics.h"
#include "notice_sender.h"
#include "policy.h"
#include "push_gateway.h"
#include "redis_relay.h"
#include "route_token.h"
#include "server.h"
#include "service.h"
#include "soap_server.h"

namespace {

using beckon::app::Config;

// How long the SIP thread may take to run a no-op before /healthz fails.
constexpr std::chrono::milliseconds kSipHealthBound{500};
// How much longer than a relayed ContactMe's waitMs its asker waits for the
// other nodes' answers.
constexpr std::chrono::milliseconds kRelayAnswer{2000};

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& e : v)
    s += (s.empty() ? "" : " ") + e;
  return s;
}

// Where devices register, for the registration notices: the SIP domain when
// there is one, else the first listen address.
std::string sipServer(const Config& config) {
  return !config.sip.registrar.domain.empty() ? "sip:" + config.sip.registrar.domain
                                              : beckon::sip::listenUrl(config.sip.listen.at(0));
}

std::vector<beckon::AppServerRights> rightsOf(const Config& config) {
  std::vector<beckon::AppServerRights> rights;
  for (const auto& a : config.appServers)
    rights.push_back(a.rights);
  return rights;
}

// Everything SIGHUP can change, applied together once the file has passed.
struct Reloadable {
  beckon::Policy& policy;
  beckon::soap::SoapServer& soap;
  beckon::soap::NoticeSender& notices;
  beckon::sip::SipServer& sip;
  beckon::Metrics& metrics;
};

// SIGHUP: re-reads the file; a file that fails validation changes nothing.
// Applies log.level, the application servers (identities, rights, notice
// URLs), [[notify_credentials]] and [sip.auth]; names the keys that changed
// and need a restart.
void reload(const Config& running, const std::string& path, const beckon::app::Flags& flags,
            Reloadable& r) {
  Config fresh;
  try {
    fresh = beckon::app::loadConfig(path);
    beckon::app::applyFlags(fresh, flags);
    beckon::app::checkDeployment(fresh, flags);
    beckon::soap::Authenticator check(fresh.soap.identities);  // throws as setIdentities would
  } catch (const std::exception& e) {
    r.metrics.configReloaded(false);
    spdlog::error("reload refused, the configuration in use is kept: {}", e.what());
    return;
  }
  r.soap.setIdentities(fresh.soap.identities);
  r.policy.replace(rightsOf(fresh));
  r.notices.setTargets(fresh.notices.targets);
  const std::size_t users = fresh.sip.auth.auth ? fresh.sip.auth.auth->users.size() : 0;
  const std::size_t credentials = fresh.sip.notifyCredentials.size();
  if (!r.sip.reload(fresh.sip.notifyCredentials, fresh.sip.auth)) {
    spdlog::warn(
        "reload: the SIP thread has not applied [[notify_credentials]] and [sip.auth] "
        "yet; it will when it takes its queued work");
  }
  beckon::app::setLogLevel(fresh.logLevel);
  r.metrics.configReloaded(true);
  spdlog::info(
      "reload applied: log_level={} app_servers={} notify_credentials={} sip_auth_users={}",
      fresh.logLevel, fresh.appServers.size(), credentials, users);
  for (const auto& key : beckon::app::keysNeedingRestart(running, fresh))
    spdlog::warn("reload: {} changed in {}; it takes effect at the next restart", key, path);
}

// GET /metrics and /healthz on the SOAP listener, with the queue depths that
// live behind their owners' locks (read at scrape time). Before soap.start().
void addOperations(beckon::Metrics& metrics, beckon::HealthChecks& health,
                   beckon::sip::SipServer& sip, beckon::soap::SoapServer& soap,
                   beckon::soap::NoticeSender& notices) {
  auto& registry = metrics.registry();
  registry.sampledGauge("beckon_sip_work_queue_depth",
                        "Work (SOAP calls, reloads) posted to the SIP thread and not taken yet.",
                        {}, [&sip] { return static_cast<double>(sip.backlog()); });
  registry.sampledGauge("beckon_soap_connections_waiting",
                        "SOAP connections accepted and waiting for a free worker.", {},
                        [&soap] { return static_cast<double>(soap.waiting()); });
  registry.sampledGauge("beckon_notice_queue_depth",
                        "Registration notices queued, waiting for a retry or being sent.", {},
                        [&notices] { return static_cast<double>(notices.pending()); });
  const char* noticesHelp =
      "Registration notices (per application server): delivered, failed after the last "
      "attempt, attempts retried, dropped from a full queue.";
  using NoticeCounters = beckon::soap::NoticeSender::Counters;
  for (auto [result, field] : {std::pair{"delivered", &NoticeCounters::delivered},
                               std::pair{"failed", &NoticeCounters::failed},
                               std::pair{"retried", &NoticeCounters::retried},
                               std::pair{"dropped", &NoticeCounters::dropped}}) {
    registry.sampledCounter(
        "beckon_notices_total", noticesHelp, {{"result", result}},
        [&notices, field = field] { return static_cast<double>(notices.counters().*field); });
  }
  // /healthz: the SIP thread runs a no-op in time; the SOAP side answers
  // (this very request is served by a SOAP worker). The store adds its own.
  health.add("sip", [&sip] { return beckon::executorAnswers(sip, kSipHealthBound); });
  health.add("soap", [&soap] {
    return beckon::HealthChecks::Result{
        true, std::to_string(soap.waiting()) + " connections waiting for a worker"};
  });
  soap.addGet("/metrics", [&metrics] {
    return beckon::soap::HttpResponse{200, beckon::MetricRegistry::kContentType, metrics.render()};
  });
  soap.addGet("/healthz", [&health] {
    const auto report = health.run();
    return beckon::soap::HttpResponse{report.ok ? 200 : 503, "text/plain; charset=utf-8",
                                      report.text};
  });
}

int serve(const Config& config, const std::string& configPath, const beckon::app::Flags& flags) {
  // Signals are taken by this thread alone, with sigwait, after every other
  // thread has started with them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  su_init();
  int exitCode = 0;
  {
    beckon::SystemClock clock;
    beckon::Metrics metrics(BECKON_VERSION);  // outlives every thread that reports to it
    beckon::HealthChecks health;
    beckon::sip::SipServer sip(config.sip);
    beckon::Core core(clock, sip.notifySender(), config.core);
    beckon::Policy policy(rightsOf(config), config.core.packages);
    beckon::ContactService service(core, sip, &policy);
    beckon::soap::NoticeConfig noticeConfig = config.notices;
    noticeConfig.sipServer = sipServer(config);
    beckon::soap::NoticeSender notices(noticeConfig);
    beckon::soap::SoapServer soap(config.soap, service);
    std::unique_ptr<beckon::store::SqliteStore> sqliteStore;
    std::unique_ptr<beckon::store::RedisStore> redisStore;
    std::unique_ptr<beckon::store::RedisRelay> relay;  // with redisStore
    auto stopStore = [&] {
      if (sqliteStore) sqliteStore->stop();
      if (redisStore) redisStore->stop();
    };
    // Reads what the store kept, and writes before the SIP thread owns the
    // core: the time since which this node is accessible, the proxy's keys.
    auto openStore = [&](auto& s, const std::string& name) {
      const auto started = std::chrono::steady_clock::now();
      beckon::StoredState saved = s.load();
      spdlog::info("store {}: {} bindings and {} requests read in {} ms", name,
                   saved.bindings.size(), saved.requests.size(),
                   std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - started)
                       .count());
      s.setAccessibleSince(clock.now());
      s.onCommit([&metrics](const beckon::store::CommitReport& r) {
        if (r.ok) {
          metrics.storeCommit(r.duration, r.writes);
        } else {
          metrics.storeFailed();
        }
        metrics.storeQueueDepth(r.queued);
      });
      health.add("store", [p = &s] {
        const bool ok = p->healthy();
        return beckon::HealthChecks::Result{
            ok, ok ? std::to_string(p->queued()) + " writes queued" : "the last commit failed"};
      });
      // The proxy's Record-Route keys: stored before the first one signs,
      // so that no dialog it record-routes dies with this process.
      if (beckon::rotateDialogKeys(saved.dialogKeys, clock.now(),
                                   config.sip.proxy.dialogKeyLifetime,
                                   beckon::sip::RouteTokens::randomKey)) {
        s.saveDialogKeys(saved.dialogKeys);
      }
      std::promise<bool> stored;
      s.whenCommitted([&stored](bool ok) { stored.set_value(ok); });
      s.start();
      if (!stored.get_future().get()) throw std::runtime_error("the store cannot be written");
      core.setStore(&s);  // before the SIP thread owns the core
      return saved;
    };
    std::unique_ptr<beckon::push::PushGateway> pushes;  // with [push] only

    addOperations(metrics, health, sip, soap, notices);
    core.setMetrics(&metrics);  // before the SIP thread restores what the store kept
    soap.setMetrics(&metrics);
    if (!config.push.providers.empty()) {
      pushes = std::make_unique<beckon::push::PushGateway>(config.push, sip);
      pushes->setMetrics(metrics.registry());
      metrics.registry().sampledGauge(
          "beckon_push_queue_depth", "Pushes queued for the push gateways or in flight.", {},
          [p = pushes.get()] { return static_cast<double>(p->pending()); });
      beckon::PushConfig push;
      for (const auto& provider : config.push.providers)
        push.providers[provider.name] = provider.wait;
      push.refreshBefore = config.push.refreshBefore;
      core.setPush(*pushes, std::move(push));  // before the SIP thread owns the core
    }
    Reloadable reloadable{policy, soap, notices, sip, metrics};

    try {
      beckon::StoredState saved;
      if (config.storeBackend == "redis") {
        redisStore = std::make_unique<beckon::store::RedisStore>(config.redis, sip);
        saved = openStore(*redisStore, redisStore->address().display());
        const std::string node = config.redis.node;
        health.add("redis", [s = redisStore.get(), node] {
          const bool up = s->linked();
          return beckon::HealthChecks::Result{
              up, s->address().display() + " node " + node +
                      (up ? ": linked" : ": not linked: " + s->linkError())};
        });
        metrics.registry().sampledGauge(
            "beckon_redis_up", "1 while the link to the Redis store is up, else 0.",
            {{"node", node}}, [s = redisStore.get()] { return s->linked() ? 1.0 : 0.0; });
      } else if (!config.store.path.empty()) {
        sqliteStore = std::make_unique<beckon::store::SqliteStore>(config.store, sip);
        saved = openStore(*sqliteStore, config.store.path);
      } else {
        spdlog::warn("store.path is empty: nothing survives a restart of beckond");
      }
      notices.start();
      if (pushes) pushes->start();
      core.setNoticeSink(&notices);
      sip.start(core, clock, std::move(saved));
      if (redisStore) {
        // A ContactMe for a device whose flow is on another node is handed
        // to that node through Redis (docs/cluster.md).
        relay = std::make_unique<beckon::store::RedisRelay>(config.redis);
        relay->start(
            [&service](const std::string& caller, const beckon::ContactMeParams& p) {
              return service.contactMeHere(beckon::Caller{caller}, p);
            },
            [&service](const std::string& caller, const std::string& deviceId) {
              return service.getDeviceHere(beckon::Caller{caller}, deviceId);
            });
        service.setDeviceRelay(
            [r = relay.get()](const beckon::Caller& caller, const std::string& deviceId) {
              return r->devices(caller.name, deviceId, kRelayAnswer);
            });
        service.setRelay(
            [r = relay.get()](const beckon::Caller& caller, const beckon::ContactMeParams& p) {
              return r->ask(caller.name, p, std::chrono::milliseconds(p.waitMs) + kRelayAnswer);
            });
      }
      soap.start();
    } catch (const std::exception& e) {
      spdlog::critical("cannot start: {}", e.what());
      soap.stop();
      if (relay) relay->stop();
      sip.stop();
      stopStore();
      notices.stop();
      if (pushes) pushes->stop();
      su_deinit();
      return 1;
    }
    if (config.appServers.empty()) {
      spdlog::warn(
          "no application server is configured: SOAP requests are taken from loopback clients "
          "only");
    }
    spdlog::info("beckond ready: sip={} soap={}:{} packages={}",
                 beckon::quoted(join(config.sip.listen)), config.soap.host, soap.port(),
                 beckon::quoted(join(config.core.packages)));

    for (;;) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (sig == SIGHUP) {
        if (configPath.empty()) {
          spdlog::warn("SIGHUP: no configuration file (--config) to reload");
          continue;
        }
        spdlog::info("SIGHUP: reloading {}", configPath);
        reload(config, configPath, flags, reloadable);
        continue;
      }
      if (sig == SIGUSR1) {
        spdlog::info("SIGUSR1: rotating the proxy's Record-Route key");
        sip.rotateDialogKey();
        continue;
      }
      spdlog::info("signal {}: stopping", sig);
      break;
    }
    soap.stop();
    if (relay) relay->stop();
    sip.stop();
    stopStore();  // commits what the core wrote last
    notices.stop();
    if (pushes) pushes->stop();  // after the SIP thread: nothing pushes any more
    spdlog::info("beckond stopped");
  }
  su_deinit();
  return exitCode;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"beckond: SIP registrar and contact-me notifier"};
  std::string configPath;
  std::string checkPath;
  beckon::app::Flags flags;
  auto* configOption = cli.add_option("-c,--config", configPath, "TOML configuration file");
  cli.add_option("--check-config", checkPath,
                 "check a configuration file (and the flags over it) and exit: 0 when good")
      ->excludes(configOption);
  cli.add_option("--sip-listen", flags.sipListen,
                 "SIP listen address, e.g. udp:0.0.0.0:5060 (repeatable)");
  cli.add_option("--soap-listen", flags.soapListen, "SOAP listen address, HOST:PORT");
  cli.add_option("--store", flags.storePath, "store file");
  cli.add_option("--log-level", flags.logLevel, "trace, debug, info, warn or error");
  cli.set_version_flag("--version", "beckond " BECKON_VERSION);
  CLI11_PARSE(cli, argc, argv);

  Config config;
  const std::string& file = checkPath.empty() ? configPath : checkPath;
  try {
    if (!file.empty()) config = beckon::app::loadConfig(file);
    beckon::app::applyFlags(config, flags);
    beckon::app::checkDeployment(config, flags);
    if (!checkPath.empty()) {
      std::cout << checkPath << ": ok\n";
      return 0;
    }
    beckon::app::setUpLogging(config.logLevel, config.logFormat);
  } catch (const std::exception& e) {
    std::cerr << "beckond: " << beckon::app::refusal(file, e.what()) << "\n";
    return 2;
  }
  const int rc = serve(config, configPath, flags);
  beckon::app::stopLogging();
  return rc;
}
