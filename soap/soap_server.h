// The SOAP listener of beckond (design: "soap/"): HTTP or HTTPS, one accept
// thread and a bounded pool of gSOAP workers serving the contact-me API, the
// WSDL and plain GET resources (/healthz, /metrics are added by app/ through
// addGet).
//
// Callers (contract: "Who may do what"): with no identities configured, only
// loopback clients, all as the application server "local". With identities,
// every SOAP call must be identified by a verified TLS client certificate or
// by HTTP Basic over HTTPS (never over plain HTTP); an unidentified call is a
// NotAuthorized fault and reaches nothing. The identity's name is the Caller
// that ContactService sees, and its Policy applies the rights. GETs (the WSDL,
// /healthz, /metrics) stay open.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth.h"

namespace beckon {
class ContactService;
class Metrics;
}  // namespace beckon

namespace beckon::soap {

struct SoapConfig {
  std::string host = "0.0.0.0";  // "::" for IPv6 (and v4-mapped IPv4)
  std::uint16_t port = 8080;     // 0: any free port, see SoapServer::port()
  unsigned workers = 8;          // connections served at once (keep-alive holds one)
  int recvTimeoutMs = 5000;      // also how long an idle keep-alive connection is kept
  int sendTimeoutMs = 5000;
  std::size_t maxBodyBytes = 65536;  // larger requests get HTTP 413
  unsigned backlog = 128;
  std::optional<SoapTls> tls;                 // HTTPS when set
  std::vector<AppServerIdentity> identities;  // empty: loopback clients only
};

// An answer to a GET.
struct HttpResponse {
  int status = 200;
  std::string contentType = "text/plain; charset=utf-8";
  std::string body;
};

class SoapServer {
 public:
  using GetHandler = std::function<HttpResponse()>;

  SoapServer(SoapConfig config, beckon::ContactService& service);
  ~SoapServer();  // stops
  SoapServer(const SoapServer&) = delete;
  SoapServer& operator=(const SoapServer&) = delete;

  // Serves `path` (exact, query string ignored) to GET requests. Call before
  // start(). The handler runs on worker threads: it must be thread-safe.
  void addGet(std::string path, GetHandler handler);
  // Before start(): every SOAP call is counted and timed there.
  void setMetrics(beckon::Metrics* metrics);

  // SIGHUP: the identities of the application servers from now on (each
  // call is authenticated against the identities current when it arrives).
  // Throws std::invalid_argument, as the constructor's Authenticator does,
  // and then keeps the old ones.
  void setIdentities(std::vector<AppServerIdentity> identities);

  // Binds (throws std::runtime_error naming the address, or the TLS file, on
  // failure; std::invalid_argument for unusable identities) and starts the
  // accept thread and the workers. Once: a stopped server does not restart.
  void start();
  // Stops accepting, lets the calls in progress answer (each waits at most its
  // waitMs), closes idle keep-alive connections and joins. Idempotent.
  void stop();

  // The bound port (the configured one, or the one chosen for port 0).
  std::uint16_t port() const;
  // Connections accepted and waiting for a free worker.
  std::size_t waiting() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace beckon::soap
