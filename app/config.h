// beckond's configuration: the TOML file (contract: "Running it"), then the
// command-line flags over it. Every key is checked; a bad one is refused with
// a message that names it.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core.h"
#include "policy.h"
#include "push_gateway.h"
#include "server.h"
#include "notice_sender.h"
#include "soap_server.h"
#include "redis_store.h"
#include "sqlite_store.h"

namespace beckon::app {

// [[app_server]]: its rights, and how it proves who it is.
struct AppServerConfig {
  AppServerRights rights;
  soap::AppServerIdentity identity;
};

struct Config {
  sip::SipConfig sip;
  soap::SoapConfig soap;  // with [soap.tls] and the application servers' identities
  std::vector<AppServerConfig> appServers;
  soap::NoticeConfig notices;  // [notices], the notice URLs, and where devices register
  push::GatewayConfig push;    // [push]: no provider, no push (RFC 8599 REGISTERs get 555)
  CoreConfig core;
  Limits limits;                        // [limits]; also copied into sip, soap and core
  store::SqliteOptions store;           // path "": no store (nothing survives a restart)
  std::string storeBackend = "sqlite";  // store.backend: "sqlite" or "redis"
  store::RedisOptions redis;            // store.redis_url and [cluster]
  std::string logLevel = "info";
  std::string logFormat = "plain";
};

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads and checks a configuration file. Throws ConfigError("key: problem").
Config loadConfig(const std::string& path);
// Checks a configuration held in a string (the fuzzer and the tests use it).
Config parseConfig(const std::string& text, const std::string& source = "config");

// SIGHUP applies log.level, the [[app_server]]s (identities, rights, notice
// URLs), [[notify_credentials]] and [sip.auth]. The keys of `fresh` that
// differ from `running` and take effect only at a restart, by name.
std::vector<std::string> keysNeedingRestart(const Config& running, const Config& fresh);

// "HOST:PORT" or "[V6]:PORT" into the SOAP listener's host and port.
void setSoapListen(soap::SoapConfig& soap, const std::string& hostport, const std::string& key);
// Throws ConfigError naming `key` unless `level` is a log level.
void checkLogLevel(const std::string& level, const std::string& key);

}  // namespace beckon::app
