// beckond: the daemon. Reads the configuration, starts the SIP thread (which
// owns the core) and the SOAP listener, and stops them in the reverse order
// on SIGTERM or SIGINT.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <pthread.h>

#include "check.h"
#include "config.h"
#include "core.h"
#include "logging.h"
#include "notice_sender.h"
#include "policy.h"
#include "server.h"
#include "service.h"
#include "soap_server.h"

namespace {

using beckon::app::Config;

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

int serve(const Config& config, const std::string& configPath) {
  // Signals are taken by this thread alone, with sigwait, after every other
  // thread has started with them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  su_init();
  int exitCode = 0;
  {
    beckon::SystemClock clock;
    beckon::sip::SipServer sip(config.sip);
    beckon::Core core(clock, sip.notifySender(), config.core);
    beckon::Policy policy(rightsOf(config), config.core.packages);
    beckon::ContactService service(core, sip, &policy);
    beckon::soap::NoticeConfig noticeConfig = config.notices;
    noticeConfig.sipServer = sipServer(config);
    beckon::soap::NoticeSender notices(noticeConfig);
    beckon::soap::SoapServer soap(config.soap, service);
    std::unique_ptr<beckon::store::SqliteStore> store;
    try {
      beckon::StoredState saved;
      if (!config.store.path.empty()) {
        const auto started = std::chrono::steady_clock::now();
        store = std::make_unique<beckon::store::SqliteStore>(config.store, sip);
        saved = store->load();
        spdlog::info("store {}: {} bindings and {} requests read in {} ms", config.store.path,
                     saved.bindings.size(), saved.requests.size(),
                     std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - started)
                         .count());
        store->setAccessibleSince(clock.now());
        store->start();
        core.setStore(store.get());  // before the SIP thread owns the core
      } else {
        spdlog::warn("store.path is empty: nothing survives a restart of beckond");
      }
      notices.start();
      core.setNoticeSink(&notices);
      sip.start(core, clock, std::move(saved));
      soap.start();
    } catch (const std::exception& e) {
      spdlog::critical("cannot start: {}", e.what());
      soap.stop();
      sip.stop();
      if (store) store->stop();
      notices.stop();
      su_deinit();
      return 1;
    }
    if (config.appServers.empty()) {
      spdlog::warn(
          "no application server is configured: SOAP requests are taken from loopback clients "
          "only");
    }
    spdlog::info("beckond ready: sip=[{}] soap={}:{} packages=[{}]", join(config.sip.listen),
                 config.soap.host, soap.port(), join(config.core.packages));

    for (;;) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (sig == SIGHUP) {
        if (configPath.empty()) continue;
        try {
          const Config fresh = beckon::app::loadConfig(configPath);
          beckon::app::setLogLevel(fresh.logLevel);
          spdlog::info("SIGHUP: configuration re-read, log level {}", fresh.logLevel);
        } catch (const std::exception& e) {
          spdlog::error("SIGHUP: configuration kept as it was: {}", e.what());
        }
        continue;
      }
      spdlog::info("signal {}: stopping", sig);
      break;
    }
    soap.stop();
    sip.stop();
    if (store) store->stop();  // commits what the core wrote last
    notices.stop();
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
  const int rc = serve(config, configPath);
  beckon::app::stopLogging();
  return rc;
}
