// beckond's configuration: the TOML file (contract: "Running it"), then the
// command-line flags over it. Every key is checked; a bad one is refused with
// a message that names it.
#pragma once

#include <stdexcept>
#include <string>

#include "core.h"
#include "server.h"
#include "soap_server.h"

namespace beckon::app {

struct Config {
  sip::SipConfig sip;
  soap::SoapConfig soap;
  CoreConfig core;
  std::string storePath = "beckon.db";
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

// "HOST:PORT" or "[V6]:PORT" into the SOAP listener's host and port.
void setSoapListen(soap::SoapConfig& soap, const std::string& hostport, const std::string& key);
// Throws ConfigError naming `key` unless `level` is a log level.
void checkLogLevel(const std::string& level, const std::string& key);

}  // namespace beckon::app
