// What beckond checks beyond the file's keys: the command-line flags over
// the file, and what only shows across keys (two listeners on one port, the
// store's directory). `beckond --check-config` and the start run the same
// checks, binding nothing.
#pragma once

#include <string>
#include <vector>

#include "config.h"

namespace beckon::app {

// The contract's flags; each replaces its key of the file.
struct Flags {
  std::vector<std::string> sipListen;  // --sip-listen (repeatable): sip.listen
  std::string soapListen;              // --soap-listen: soap.listen
  std::string storePath;               // --store: store.path
  std::string logLevel;                // --log-level: log.level
};

// Sets the flags given over `config`. Throws ConfigError("--flag: problem").
void applyFlags(Config& config, const Flags& flags);

// Throws ConfigError naming the key (or the flag that set it) when two
// listeners would take the same port, or the store's directory is missing.
void checkDeployment(const Config& config, const Flags& flags);

// The message a refusal is printed with: the file's name first unless the
// message names it already or is about a flag.
std::string refusal(const std::string& file, const std::string& message);

}  // namespace beckon::app
