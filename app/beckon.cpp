// beckon: the command-line client of beckond's SOAP API (contract: "Running it").
//
//   beckon [--server URL] contact-me --device ID --request-id ID [...] [--json]
//
// Exit status: 0 delivered, 1 answered but not delivered, 2 fault or error.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "soapContactMeProxy.h"

namespace {

constexpr const char* kDefaultServer = "http://127.0.0.1:8080/";
constexpr int kExitDelivered = 0;
constexpr int kExitNotDelivered = 1;
constexpr int kExitError = 2;

struct ContactMeOptions {
  std::string device;
  std::string requestId;
  std::string callback;
  std::optional<std::uint16_t> port;
  std::string protocol;
  std::string path;
  std::vector<std::string> altServers;
  std::string function;
  std::string timeSlot;
  std::string package;
  std::optional<std::uint32_t> queueSeconds;
  std::optional<std::uint32_t> waitMs;
  std::string onBehalfOf;
  bool json = false;
};

struct ClientOptions {
  std::string server;
  std::string caFile;
};

std::string isoTime(time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

int reportError(bool json, const std::string& code, const std::string& message) {
  if (json) {
    nlohmann::ordered_json out;
    if (code.empty()) {
      out["error"] = {{"message", message}};
    } else {
      out["fault"] = {{"code", code}, {"message", message}};
    }
    std::cout << out.dump() << '\n';
  }
  std::cerr << "error: " << (code.empty() ? "" : code + ": ") << message << '\n';
  return kExitError;
}

// A SOAP Fault with our <cm:fault> detail, a fault without it, or a failure
// to reach the server at all.
int reportFailure(ContactMeProxy& proxy, bool json) {
  struct soap* soap = proxy.soap;
  if (soap->fault) {
    SOAP_ENV__Detail* detail =
        soap->fault->SOAP_ENV__Detail ? soap->fault->SOAP_ENV__Detail : soap->fault->detail;
    if (detail && detail->cm__fault) {
      return reportError(json, soap_cm__FaultCode2s(soap, detail->cm__fault->code),
                         detail->cm__fault->message);
    }
  }
  const char** s = soap_faultstring(soap);
  std::string message = s && *s ? *s : "error " + std::to_string(soap->error);
  const char** d = soap_faultdetail(soap);
  if (d && *d && **d) message += std::string(": ") + *d;
  if (soap->error == SOAP_TCP_ERROR || soap->error == SOAP_SSL_ERROR || soap->error == SOAP_EOF) {
    message = "cannot talk to " + std::string(soap->endpoint) + ": " + message;
  }
  return reportError(json, "", message);
}

int contactMe(const ClientOptions& client, const ContactMeOptions& o) {
  ContactMeProxy proxy(client.server.c_str(), SOAP_IO_KEEPALIVE | SOAP_C_UTFSTRING);
  struct soap* soap = proxy.soap;
  soap->socket_flags = MSG_NOSIGNAL;
  soap->connect_timeout = 5;
  soap->send_timeout = 10;
  // The server answers within waitMs (default 2000): wait a little longer.
  const std::uint32_t waitMs = o.waitMs.value_or(2000);
  soap->recv_timeout = -static_cast<int>(std::min<std::uint32_t>(waitMs, 600000) + 3000) * 1000;
  if (client.server.rfind("https:", 0) == 0 &&
      soap_ssl_client_context(soap, SOAP_SSL_DEFAULT, nullptr, nullptr,
                              client.caFile.empty() ? nullptr : client.caFile.c_str(),
                              client.caFile.empty() ? "/etc/ssl/certs" : nullptr, nullptr)) {
    return reportFailure(proxy, o.json);
  }

  auto text = [soap](const std::string& value) -> std::string* {
    if (value.empty()) return nullptr;
    std::string* s = soap_new_std__string(soap);
    *s = value;
    return s;
  };
  _cm__ContactMe request;
  request.deviceId = o.device;
  request.requestId = o.requestId;
  request.server = text(o.callback);
  if (o.port) *(request.port = soap_new_unsignedShort(soap)) = *o.port;
  request.protocol = text(o.protocol);
  request.path = text(o.path);
  request.alternateServer = o.altServers;
  request.function = text(o.function);
  request.timeSlot = text(o.timeSlot);
  request.package = text(o.package);
  if (o.queueSeconds) *(request.queueSeconds = soap_new_unsignedInt(soap)) = *o.queueSeconds;
  if (o.waitMs) *(request.waitMs = soap_new_unsignedInt(soap)) = *o.waitMs;
  request.onBehalfOf = text(o.onBehalfOf);

  cm__ContactStatus status;
  if (proxy.ContactMe(&request, status) != SOAP_OK) {
    const int rc = reportFailure(proxy, o.json);
    proxy.destroy();
    return rc;
  }

  const std::string state = soap_cm__RequestState2s(soap, status.state);
  if (o.json) {
    nlohmann::ordered_json out = {{"requestId", status.requestId}, {"state", state}};
    out["deliveries"] = nlohmann::ordered_json::array();
    for (const cm__Delivery& d : status.delivery) {
      out["deliveries"].push_back({{"contact", d.contact},
                                   {"transport", d.transport},
                                   {"sipStatus", d.sipStatus},
                                   {"reason", d.reason},
                                   {"at", isoTime(d.at)}});
    }
    std::cout << out.dump() << '\n';
  } else {
    std::cout << "request " << status.requestId << ": " << state << '\n';
    for (const cm__Delivery& d : status.delivery) {
      std::cout << "  " << d.contact << " (" << d.transport << "): " << d.sipStatus
                << (d.reason.empty() ? "" : " " + d.reason) << " at " << isoTime(d.at) << '\n';
    }
  }
  const bool delivered = status.state == cm__RequestState::delivered;
  proxy.destroy();
  return delivered ? kExitDelivered : kExitNotDelivered;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"beckon: the command-line client of beckond's SOAP API"};
  app.require_subcommand(1);

  ClientOptions client;
  const char* env = std::getenv("BECKON_SERVER");
  client.server = env && *env ? env : kDefaultServer;
  app.add_option(
      "--server", client.server,
      "beckond's SOAP URL (default: $BECKON_SERVER, else " + std::string(kDefaultServer) + ")");
  app.add_option("--cacert", client.caFile, "CA certificates (PEM) to verify an https server")
      ->check(CLI::ExistingFile);

  ContactMeOptions o;
  CLI::App* cm = app.add_subcommand("contact-me", "ask beckond to make a device call back");
  cm->add_option("--device", o.device, "device id: instance id, MAC, address of record or number")
      ->required();
  cm->add_option("--request-id", o.requestId, "request id, unique per application server")
      ->required();
  cm->add_option("--callback", o.callback, "HOST[:PORT] the device calls back (the server field)");
  cm->add_option("--port", o.port, "port to call back, when not in --callback");
  cm->add_option("--protocol", o.protocol, "http, https, ...");
  cm->add_option("--path", o.path, "absolute path on the callback server");
  cm->add_option("--alt-server", o.altServers, "further HOST[:PORT] to try (up to 8)");
  cm->add_option("--function", o.function, "functional component to talk to");
  cm->add_option("--time-slot", o.timeSlot, "ISO 8601 interval in which to call back");
  cm->add_option("--package", o.package, "event package (default application-server-contact-me)");
  cm->add_option("--queue-seconds", o.queueSeconds, "keep the request pending this long");
  cm->add_option("--wait-ms", o.waitMs, "how long beckond waits for the outcome (default 2000)");
  cm->add_option("--on-behalf-of", o.onBehalfOf, "the application server acted for");
  cm->add_flag("--json", o.json, "print the result as one JSON object");

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitError;
  }
  if (cm->parsed()) return contactMe(client, o);
  return kExitError;
}
