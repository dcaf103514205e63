#include "check.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "server.h"

namespace beckon::app {

namespace {

[[noreturn]] void bad(const std::string& key, const std::string& problem) {
  throw ConfigError(key + ": " + problem);
}

// One socket a listener takes: its kind (TCP also carries TLS and SOAP),
// host and port, and where it was configured.
struct Socket {
  bool tcp;
  std::string host;  // without [] around an IPv6 address
  unsigned port;
  std::string key;   // "sip.listen", "--soap-listen", ...
  std::string spec;  // as written
};

bool isV6(const std::string& host) {
  return host.find(':') != std::string::npos;
}

// Whether two sockets of one kind and port would be bound to overlapping
// addresses: the same one, or a wildcard of the other's family.
bool overlap(const std::string& a, const std::string& b) {
  if (a == b || a == "*" || b == "*") return true;
  if (a == "0.0.0.0" || a == "::") return isV6(a) == isV6(b);
  if (b == "0.0.0.0" || b == "::") return isV6(a) == isV6(b);
  return false;
}

Socket sipSocket(const std::string& spec, const std::string& key) {
  // listenUrl() has checked the form: PROTO:HOST:PORT, HOST maybe [V6].
  const auto colon = spec.find(':');
  const auto portColon = spec.rfind(':');
  std::string host = spec.substr(colon + 1, portColon - colon - 1);
  if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return {spec.substr(0, colon) != "udp", host,
          static_cast<unsigned>(std::stoul(spec.substr(portColon + 1))), key, spec};
}

void checkListeners(const Config& config, const Flags& flags) {
  const std::string sipKey = flags.sipListen.empty() ? "sip.listen" : "--sip-listen";
  const std::string soapKey = flags.soapListen.empty() ? "soap.listen" : "--soap-listen";
  std::vector<Socket> sockets;
  for (const auto& spec : config.sip.listen)
    sockets.push_back(sipSocket(spec, sipKey));
  sockets.push_back({true, config.soap.host, config.soap.port, soapKey,
                     isV6(config.soap.host)
                         ? "[" + config.soap.host + "]:" + std::to_string(config.soap.port)
                         : config.soap.host + ":" + std::to_string(config.soap.port)});
  for (std::size_t i = 0; i < sockets.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      const Socket& a = sockets[j];
      const Socket& b = sockets[i];
      if (a.tcp != b.tcp || a.port != b.port || a.port == 0 || !overlap(a.host, b.host)) continue;
      bad(b.key, "'" + b.spec + "': " + (b.tcp ? "TCP" : "UDP") + " port " +
                     std::to_string(b.port) + " is taken by " + a.key + " '" + a.spec +
                     "' already");
    }
  }
}

// SQLite makes the file, not its directory. A name SQLite treats specially
// (":memory:", "file:" URIs) is left to the store.
void checkStoreDirectory(const Config& config, const Flags& flags) {
  if (config.storeBackend != "sqlite") return;  // store.path is not used
  const std::string& path = config.store.path;
  if (path.empty() || path.front() == ':' || path.rfind("file:", 0) == 0) return;
  const std::string key = flags.storePath.empty() ? "store.path" : "--store";
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) bad(key, "'" + path + "' is a directory");
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  if (!std::filesystem::is_directory(dir, ec)) {
    bad(key, "the directory '" + dir.string() + "' does not exist");
  }
}

}  // namespace

void applyFlags(Config& config, const Flags& flags) {
  if (!flags.sipListen.empty()) {
    for (const auto& spec : flags.sipListen) {
      try {
        sip::listenUrl(spec);
      } catch (const std::invalid_argument& e) {
        bad("--sip-listen", e.what());
      }
      if (spec.rfind("tls:", 0) == 0 && !config.sip.tls)
        bad("--sip-listen", "'" + spec + "' needs [sip.tls] cert and key in the file");
    }
    config.sip.listen = flags.sipListen;
  }
  if (!flags.soapListen.empty()) setSoapListen(config.soap, flags.soapListen, "--soap-listen");
  if (!flags.storePath.empty()) config.store.path = flags.storePath;
  if (!flags.logLevel.empty()) {
    checkLogLevel(flags.logLevel, "--log-level");
    config.logLevel = flags.logLevel;
  }
}

void checkDeployment(const Config& config, const Flags& flags) {
  checkListeners(config, flags);
  checkStoreDirectory(config, flags);
}

std::string refusal(const std::string& file, const std::string& message) {
  if (file.empty() || message.rfind("--", 0) == 0 || message.rfind(file + ":", 0) == 0)
    return message;
  return file + ": " + message;
}

}  // namespace beckon::app
