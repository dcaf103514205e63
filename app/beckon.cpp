// beckon: the command-line client of beckond's SOAP API (contract: "Running it").
//
//   beckon [--server URL] [--cacert FILE] [--cert FILE --key FILE]
//          [--user U --password P] [--json] COMMAND ...
//     contact-me --device ID --request-id ID [--callback HOST:PORT] [...]
//     get-request --request-id ID [--on-behalf-of AS]
//     cancel-request --request-id ID [--on-behalf-of AS]
//     get-device --device ID
//
// Exit status: 0 delivered (get-device, cancel-request: answered), 1 answered
// but not delivered, 2 fault or error.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <memory>
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
};

struct RequestOptions {  // get-request, cancel-request
  std::string requestId;
  std::string onBehalfOf;
};

struct ClientOptions {
  std::string server;
  std::string caFile;
  std::string certFile;
  std::string keyFile;
  std::string user;
  std::string password;
  bool json = false;
};

std::string isoTime(time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// One JSON line on stdout; bytes that are not UTF-8 in what the server sent
// become U+FFFD instead of an exception.
void printJson(const nlohmann::ordered_json& out) {
  std::cout << out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
}

int reportError(bool json, const std::string& code, const std::string& message) {
  if (json) {
    nlohmann::ordered_json out;
    if (code.empty()) {
      out["error"] = {{"message", message}};
    } else {
      out["fault"] = {{"code", code}, {"message", message}};
    }
    printJson(out);
  }
  std::cerr << "error: " << (code.empty() ? "" : code + ": ") << message << '\n';
  return kExitError;
}

// Why talking to the server failed: gSOAP's description, the system error,
// and what OpenSSL has queued (a TLS alert: "certificate required", ...).
std::string transportReason(struct soap* soap) {
  std::string reason;
  auto add = [&reason](const std::string& part) {
    if (part.empty() || reason.find(part) != std::string::npos) return;
    if (!reason.empty()) reason += ": ";
    reason += part;
  };
  if (soap->error == SOAP_EOF) {
    // gSOAP's text ("End of file or no input: message transfer interrupted
    // or timed out ...") does not say which; the system error does.
    if (soap->errnum) {
      add(std::string("the connection ended (") + std::strerror(soap->errnum) + ")");
    } else {
      const int ms =
          soap->recv_timeout < 0 ? -soap->recv_timeout / 1000 : soap->recv_timeout * 1000;
      add("the server closed the connection without an answer, or none came within " +
          std::to_string(ms) + " ms");
    }
  } else {
    const char** s = soap_faultstring(soap);
    if (s && *s) add(*s);
    const char** d = soap_faultdetail(soap);
    if (d && *d) add(*d);
    if (soap->errnum) add(std::strerror(soap->errnum));
  }
  char text[256];
  for (unsigned long e; (e = ERR_get_error()) != 0;) {
    ERR_error_string_n(e, text, sizeof text);
    add(text);
  }
  return reason.empty() ? "error " + std::to_string(soap->error) : reason;
}

bool isTransportError(int error) {
  return error == SOAP_TCP_ERROR || error == SOAP_SSL_ERROR || error == SOAP_EOF;
}

// A SOAP Fault with our <cm:fault> detail, a fault without it, or a failure
// to reach the server at all (the message then names the server's URL).
int reportFailure(ContactMeProxy& proxy, const ClientOptions& client) {
  const bool json = client.json;
  struct soap* soap = proxy.soap;
  if (soap->fault) {
    SOAP_ENV__Detail* detail =
        soap->fault->SOAP_ENV__Detail ? soap->fault->SOAP_ENV__Detail : soap->fault->detail;
    if (detail && detail->cm__fault) {
      return reportError(json, soap_cm__FaultCode2s(soap, detail->cm__fault->code),
                         detail->cm__fault->message);
    }
  }
  if (soap->error != SOAP_FAULT && soap->error != SOAP_CLI_FAULT && soap->error != SOAP_SVR_FAULT)
    soap_set_fault(soap);  // gSOAP's description of a local error
  if (isTransportError(soap->error)) {
    std::string message = "cannot talk to " + client.server + ": " + transportReason(soap);
    // A server that requires client certificates ends the connection of a
    // client without one; over TLS 1.3 the client often sees only that.
    if (client.server.rfind("https:", 0) == 0 && client.certFile.empty() &&
        soap->error == SOAP_EOF) {
      message += " (if the server requires a client certificate, give one with --cert)";
    }
    return reportError(json, "", message);
  }
  const char** s = soap_faultstring(soap);
  std::string message = s && *s ? *s : "error " + std::to_string(soap->error);
  const char** d = soap_faultdetail(soap);
  if (d && *d && **d) message += std::string(": ") + *d;
  return reportError(json, "", message);
}

// A proxy for `client`: TLS (server verification, client certificate) and
// HTTP Basic set up. Null after reporting the error.
std::unique_ptr<ContactMeProxy> makeProxy(const ClientOptions& client, std::uint32_t waitMs) {
  auto proxy =
      std::make_unique<ContactMeProxy>(client.server.c_str(), SOAP_IO_KEEPALIVE | SOAP_C_UTFSTRING);
  struct soap* soap = proxy->soap;
  soap->socket_flags = MSG_NOSIGNAL;
  soap->connect_timeout = 5;
  soap->send_timeout = 10;
  // The server answers within waitMs (default 2000): wait a little longer.
  soap->recv_timeout = -static_cast<int>(std::min<std::uint32_t>(waitMs, 600000) + 3000) * 1000;
  if (!client.user.empty()) {
    if (client.server.rfind("https:", 0) != 0) {
      std::cerr << "warning: --user over plain http: beckond refuses HTTP Basic without TLS\n";
    }
    soap->userid = client.user.c_str();
    soap->passwd = client.password.c_str();
  }
  if (client.server.rfind("https:", 0) == 0) {
    unsigned short flags = SOAP_SSL_DEFAULT | SOAP_TLSv1_2 | SOAP_TLSv1_3;
    if (!client.caFile.empty()) flags |= SOAP_SSL_NO_DEFAULT_CA_PATH;
    if (soap_ssl_client_context(soap, flags, nullptr, nullptr,
                                client.caFile.empty() ? nullptr : client.caFile.c_str(),
                                client.caFile.empty() ? "/etc/ssl/certs" : nullptr, nullptr)) {
      soap_set_fault(soap);
      reportError(client.json, "",
                  "cannot set up TLS for " + client.server +
                      (client.caFile.empty() ? "" : " (CA file " + client.caFile + ")") + ": " +
                      transportReason(soap));
      return nullptr;
    }
    if (!client.certFile.empty()) {
      const std::string& key = client.keyFile.empty() ? client.certFile : client.keyFile;
      if (!soap->ctx ||
          SSL_CTX_use_certificate_chain_file(soap->ctx, client.certFile.c_str()) != 1 ||
          SSL_CTX_use_PrivateKey_file(soap->ctx, key.c_str(), SSL_FILETYPE_PEM) != 1 ||
          SSL_CTX_check_private_key(soap->ctx) != 1) {
        reportError(client.json, "",
                    "cannot use the client certificate " + client.certFile + " with key " + key);
        return nullptr;
      }
    }
  } else if (!client.certFile.empty()) {
    std::cerr << "warning: --cert is only used with an https --server\n";
  }
  return proxy;
}

std::string* optionalText(struct soap* soap, const std::string& value) {
  if (value.empty()) return nullptr;
  std::string* s = soap_new_std__string(soap);
  *s = value;
  return s;
}

// Prints a ContactStatus; the exit status says whether it was delivered.
int reportStatus(struct soap* soap, const cm__ContactStatus& status, bool json) {
  const std::string state = soap_cm__RequestState2s(soap, status.state);
  if (json) {
    nlohmann::ordered_json out = {{"requestId", status.requestId}, {"state", state}};
    out["deliveries"] = nlohmann::ordered_json::array();
    for (const cm__Delivery& d : status.delivery) {
      out["deliveries"].push_back({{"contact", d.contact},
                                   {"transport", d.transport},
                                   {"sipStatus", d.sipStatus},
                                   {"reason", d.reason},
                                   {"at", isoTime(d.at)}});
    }
    printJson(out);
  } else {
    std::cout << "request " << status.requestId << ": " << state << '\n';
    for (const cm__Delivery& d : status.delivery) {
      std::cout << "  " << d.contact << " (" << d.transport << "): " << d.sipStatus
                << (d.reason.empty() ? "" : " " + d.reason) << " at " << isoTime(d.at) << '\n';
    }
  }
  return status.state == cm__RequestState::delivered ? kExitDelivered : kExitNotDelivered;
}

int contactMe(const ClientOptions& client, const ContactMeOptions& o) {
  auto proxy = makeProxy(client, o.waitMs.value_or(2000));
  if (!proxy) return kExitError;
  struct soap* soap = proxy->soap;
  _cm__ContactMe request;
  request.deviceId = o.device;
  request.requestId = o.requestId;
  request.server = optionalText(soap, o.callback);
  if (o.port) *(request.port = soap_new_unsignedShort(soap)) = *o.port;
  request.protocol = optionalText(soap, o.protocol);
  request.path = optionalText(soap, o.path);
  request.alternateServer = o.altServers;
  request.function = optionalText(soap, o.function);
  request.timeSlot = optionalText(soap, o.timeSlot);
  request.package = optionalText(soap, o.package);
  if (o.queueSeconds) *(request.queueSeconds = soap_new_unsignedInt(soap)) = *o.queueSeconds;
  if (o.waitMs) *(request.waitMs = soap_new_unsignedInt(soap)) = *o.waitMs;
  request.onBehalfOf = optionalText(soap, o.onBehalfOf);

  cm__ContactStatus status;
  const int rc = proxy->ContactMe(&request, status) == SOAP_OK
                     ? reportStatus(soap, status, client.json)
                     : reportFailure(*proxy, client);
  proxy->destroy();
  return rc;
}

int getRequest(const ClientOptions& client, const RequestOptions& o, bool cancel) {
  auto proxy = makeProxy(client, 0);
  if (!proxy) return kExitError;
  struct soap* soap = proxy->soap;
  cm__ContactStatus status;
  int rc;
  if (cancel) {
    _cm__CancelContactRequest request;
    request.requestId = o.requestId;
    request.onBehalfOf = optionalText(soap, o.onBehalfOf);
    rc = proxy->CancelContactRequest(&request, status);
  } else {
    _cm__GetContactRequest request;
    request.requestId = o.requestId;
    request.onBehalfOf = optionalText(soap, o.onBehalfOf);
    rc = proxy->GetContactRequest(&request, status);
  }
  if (rc != SOAP_OK) {
    rc = reportFailure(*proxy, client);
  } else {
    rc = reportStatus(soap, status, client.json);
    if (cancel) rc = kExitDelivered;  // answered
  }
  proxy->destroy();
  return rc;
}

int getDevice(const ClientOptions& client, const std::string& deviceId) {
  auto proxy = makeProxy(client, 0);
  if (!proxy) return kExitError;
  struct soap* soap = proxy->soap;
  _cm__GetDevice request;
  request.deviceId = deviceId;
  cm__Device device;
  if (proxy->GetDevice(&request, device) != SOAP_OK) {
    const int rc = reportFailure(*proxy, client);
    proxy->destroy();
    return rc;
  }
  if (client.json) {
    nlohmann::ordered_json out = {{"deviceId", device.deviceId}};
    out["bindings"] = nlohmann::ordered_json::array();
    for (const cm__Binding& b : device.binding) {
      nlohmann::ordered_json j = {{"contact", b.contact}, {"aor", b.aor}};
      if (b.instance) j["instance"] = *b.instance;
      if (b.mac) j["mac"] = *b.mac;
      j["transport"] = b.transport;
      j["source"] = b.source;
      j["expires"] = isoTime(b.expires);
      j["state"] = soap_cm__BindingState2s(soap, b.state);
      j["subscriptions"] = nlohmann::ordered_json::array();
      for (const cm__Subscription& s : b.subscription) {
        j["subscriptions"].push_back({{"package", s.package},
                                      {"format", soap_cm__BodyFormat2s(soap, s.format)},
                                      {"how", soap_cm__SubscriptionKind2s(soap, s.how)}});
      }
      out["bindings"].push_back(std::move(j));
    }
    printJson(out);
  } else {
    std::cout << "device " << device.deviceId << ": " << device.binding.size()
              << (device.binding.size() == 1 ? " binding" : " bindings") << '\n';
    for (const cm__Binding& b : device.binding) {
      std::cout << "  " << b.contact << " (" << b.transport << " from " << b.source << ", expires "
                << isoTime(b.expires) << ", " << soap_cm__BindingState2s(soap, b.state) << ")\n";
      std::cout << "    aor " << b.aor;
      if (b.instance) std::cout << ", instance " << *b.instance;
      if (b.mac) std::cout << ", mac " << *b.mac;
      std::cout << '\n';
      for (const cm__Subscription& s : b.subscription) {
        std::cout << "    subscribed to " << s.package << " ("
                  << soap_cm__BodyFormat2s(soap, s.format) << ", "
                  << soap_cm__SubscriptionKind2s(soap, s.how) << ")\n";
      }
    }
  }
  proxy->destroy();
  return kExitDelivered;
}

}  // namespace

int main(int argc, char** argv) {
  // A server that ends the connection (a TLS handshake it refuses, say) makes
  // writes fail with EPIPE; OpenSSL writes without MSG_NOSIGNAL, so without
  // this the client would die of SIGPIPE instead of reporting it.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"beckon: the command-line client of beckond's SOAP API"};
  app.require_subcommand(1);
  app.fallthrough();  // global options also after the command

  ClientOptions client;
  const char* env = std::getenv("BECKON_SERVER");
  client.server = env && *env ? env : kDefaultServer;
  const char* password = std::getenv("BECKON_PASSWORD");
  if (password) client.password = password;
  app.add_option("--server", client.server,
                 "beckond's SOAP URL, http or https (default: $BECKON_SERVER, else " +
                     std::string(kDefaultServer) + ")");
  app.add_option("--cacert", client.caFile, "CA certificates (PEM) to verify an https server")
      ->check(CLI::ExistingFile);
  app.add_option("--cert", client.certFile, "client certificate (PEM) for https")
      ->check(CLI::ExistingFile);
  app.add_option("--key", client.keyFile, "private key (PEM) of --cert (default: in --cert)")
      ->check(CLI::ExistingFile);
  app.add_option("--user", client.user, "HTTP Basic user (beckond takes it over https only)");
  app.add_option("--password", client.password, "HTTP Basic password (default: $BECKON_PASSWORD)");
  app.add_flag("--json", client.json, "print the result as one JSON object");

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

  RequestOptions get;
  CLI::App* gr = app.add_subcommand("get-request", "the status of a contact request");
  gr->add_option("--request-id", get.requestId, "the request's id")->required();
  gr->add_option("--on-behalf-of", get.onBehalfOf, "the application server acted for");

  RequestOptions cancel;
  CLI::App* cr = app.add_subcommand("cancel-request", "cancel a queued contact request");
  cr->add_option("--request-id", cancel.requestId, "the request's id")->required();
  cr->add_option("--on-behalf-of", cancel.onBehalfOf, "the application server acted for");

  std::string device;
  CLI::App* gd = app.add_subcommand("get-device", "the bindings of a device");
  gd->add_option("--device", device, "device id: instance id, MAC, address of record or number")
      ->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitError;
  }
  if (!client.certFile.empty() && client.keyFile.empty()) client.keyFile = client.certFile;
  if (cm->parsed()) return contactMe(client, o);
  if (gr->parsed()) return getRequest(client, get, false);
  if (cr->parsed()) return getRequest(client, cancel, true);
  if (gd->parsed()) return getDevice(client, device);
  return kExitError;
}
