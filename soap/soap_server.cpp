#include "soap_server.h"

#include "soap_server_impl.h"

namespace beckon::soap {

namespace {

Worker& workerOf(struct ::soap* soap) {
  return *static_cast<Worker*>(soap->user);
}

int parseHeader(struct ::soap* soap, const char* key, const char* value) {
  Worker& w = workerOf(soap);
  if (!soap_tag_cmp(key, "Content-Length")) {
    // recv_maxlength alone truncates silently; refuse before reading the body.
    const unsigned long long length = std::strtoull(value, nullptr, 10);
    if (length > w.server->config.maxBodyBytes) {
      w.server->limitRefused(Metrics::Limit::SoapMaxBodyBytes);
      return 413;
    }
    w.contentLength = true;
  } else if (!soap_tag_cmp(key, "Host")) {
    w.hostHeader = value;
  }
  return w.server->defaultParseHeader(soap, key, value);
}

// The HTTP header is parsed: what follows is the body (and what gSOAP has
// already read of it).
int parseHttp(struct ::soap* soap) {
  Worker& w = workerOf(soap);
  const int error = w.server->defaultParse(soap);
  w.reading = Worker::Reading::Body;
  w.bodyBytes = soap->buflen > soap->bufidx ? soap->buflen - soap->bufidx : 0;
  // What gSOAP has read of the body with the header went through
  // prepareReceive() as part of the header. A plain body starts with it; a
  // chunked or compressed one comes through prepareReceive() again, decoded.
  const bool chunked = (soap->imode & SOAP_IO) == SOAP_IO_CHUNK;
  if (!chunked && soap->zlib_in == SOAP_ZLIB_NONE && w.bodyBytes > 0)
    w.keepBody(soap, soap->buf + soap->bufidx, w.bodyBytes);
  return error;
}

// gSOAP hands every buffer it reads here, decoded (HTTP chunks joined,
// gzip inflated): the body's bytes as gSOAP's XML parser gets them.
int prepareReceive(struct ::soap* soap, const char* data, std::size_t length) {
  Worker& w = workerOf(soap);
  if (w.reading == Worker::Reading::Body) w.keepBody(soap, data, length);
  const auto chained = w.server->defaultPrepareReceive;
  return chained ? chained(soap, data, length) : SOAP_OK;
}

// An idle keep-alive connection, between requests: waits for the next one
// (soap.recv_timeout_ms at most), but gives its worker up at once when
// another connection waits for one (HTTP lets a server close an idle
// keep-alive connection at any time; the client opens a new one).
bool nextRequestComing(Worker& w, struct ::soap* soap) {
  if (soap->ssl && SSL_pending(soap->ssl) > 0) return true;
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(w.server->config.recvTimeoutMs);
  for (;;) {
    if (w.server->othersWaiting()) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd in{soap->socket, POLLIN, 0};
    const int n = ::poll(&in, 1, static_cast<int>(std::min<long long>(left.count(), 100)));
    if (n != 0) return true;  // data, the end, or an error: gSOAP's read tells which
  }
}

// Every read of a request goes through here. [limits]: the whole request
// must come within soap_request_timeout_ms of its first byte (each wait is
// cut to what is left), the header within 16 KiB, a body without
// Content-Length (chunked) within max_body_bytes. Past one: EOF for gSOAP,
// and w.refusal says why.
std::size_t receive(struct ::soap* soap, char* buffer, std::size_t length) {
  using std::chrono::steady_clock;
  Worker& w = workerOf(soap);
  const SoapConfig& config = w.server->config;
  if (w.refusal) return 0;
  const auto now = steady_clock::now();
  if (w.reading == Worker::Reading::Idle) {
    soap->recv_timeout = gsoapTimeout(config.recvTimeoutMs);  // waiting for a request
    if (w.servedOne && !nextRequestComing(w, soap)) return 0;
  } else {
    const bool header = w.reading == Worker::Reading::Header;
    const auto until = header ? std::min(w.deadline, w.headerDeadline) : w.deadline;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now);
    if (left.count() <= 0) {
      w.refusal = 408;
      w.headerCut = header && w.headerDeadline <= w.deadline;
      return 0;
    }
    soap->recv_timeout =
        gsoapTimeout(static_cast<int>(std::min<long long>(config.recvTimeoutMs, left.count())));
    if (w.reading == Worker::Reading::Header && w.headerBytes > kHeaderAllowance) {
      w.refusal = 431;  // gSOAP asks for more: the header is not whole yet
      return 0;
    }
  }
  const std::size_t n = w.server->defaultRecv(soap, buffer, length);
  soap->recv_timeout = gsoapTimeout(config.recvTimeoutMs);
  if (n == 0) {
    // A wait cut to the deadline ends a few ms early or late: within 20 ms
    // of it, the deadline is why (not the peer's end).
    const auto late = steady_clock::now() + std::chrono::milliseconds(20);
    if (w.reading == Worker::Reading::Header && late >= w.headerDeadline) {
      w.refusal = 408;
      w.headerCut = true;
    } else if (w.reading != Worker::Reading::Idle && late >= w.deadline) {
      w.refusal = 408;
    }
    return 0;
  }
  if (w.reading == Worker::Reading::Idle) {
    w.reading = Worker::Reading::Header;
    w.deadline = steady_clock::now() + config.limits.soapRequestTimeout;
    w.headerDeadline = steady_clock::now() + config.limits.soapHeaderTimeout;
  }
  if (w.reading == Worker::Reading::Header) {
    w.headerBytes += n;
  } else {
    w.bodyBytes += n;
    if (!w.contentLength && w.bodyBytes > config.maxBodyBytes) {
      w.refusal = 413;
      return 0;
    }
  }
  return n;
}

int httpGet(struct ::soap* soap) {
  return workerOf(soap).server->get(workerOf(soap));
}

}  // namespace

int SoapServer::Impl::get(Worker& w) {
  struct ::soap* soap = w.service->soap;
  w.gotGet = true;
  const std::string_view target = soap->path;
  const std::size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);

  HttpResponse response;
  if (path == "/contact-me.wsdl" || query == "wsdl") {
    // So that clients can use the served WSDL as it is: our own address.
    const std::string location = plausibleHost(w.hostHeader)
                                     ? (config.tls ? "https://" : "http://") + w.hostHeader + "/"
                                     : std::string(wsdl::kLocationPlaceholder);
    response.contentType = "text/xml; charset=utf-8";
    response.body = replaceAll(wsdl::kContactMeWsdl, wsdl::kLocationPlaceholder, location);
  } else if (auto it = gets.find(path); it != gets.end()) {
    if (!guarded(
            Boundary::SoapRequest, [&] { response = it->second(); },
            [&] { return fmt::format("get={} peer={}", quoted(path), w.peer); })) {
      response = {500, "text/plain; charset=utf-8", "internal error\n"};
    }
  } else {
    spdlog::debug("soap: GET {} from {}: 404", target, w.peer);
    return 404;
  }
  spdlog::debug("soap: GET {} from {}: {}", target, w.peer, response.status);
  soap->http_content = response.contentType.c_str();
  const int status = response.status == 200 ? SOAP_FILE : SOAP_FILE + response.status;
  if (soap_response(soap, status) ||
      soap_send_raw(soap, response.body.data(), response.body.size()) || soap_end_send(soap)) {
    return soap_closesock(soap);
  }
  return SOAP_OK;
}

Caller SoapServer::Impl::authenticate(Worker& w, const char* operation) {
  auto refuse = [&](const std::string& why) -> Caller {
    spdlog::warn("soap: {} from {} refused: {}", operation, w.peer, why);
    throw Fault(FaultCode::NotAuthorized, why);
  };
  const auto authenticator = currentAuthenticator();
  if (authenticator->empty()) {
    // No application servers are configured: loopback clients only, as "local".
    if (!w.loopbackPeer)
      refuse("only loopback clients may call while no application server is configured");
    return Caller{"local"};
  }
  if (!w.certificate.fingerprint.empty()) {
    if (const AppServerIdentity* id = authenticator->byCertificate(w.certificate))
      return Caller{id->name};
  }
  struct ::soap* soap = w.service->soap;
  const std::string_view user = soap->userid ? soap->userid : "";
  if (!user.empty()) {
    if (!config.tls) {
      refuse("HTTP Basic credentials (user '" + std::string(user) +
             "') are only accepted over HTTPS, and this listener is plain HTTP");
    }
    if (const AppServerIdentity* id =
            authenticator->byBasic(user, soap->passwd ? soap->passwd : ""))
      return Caller{id->name};
    refuse("HTTP Basic user '" + std::string(user) + "' unknown or wrong password");
  }
  if (!w.certificate.fingerprint.empty()) {
    refuse("client certificate " + w.certificate.subjectRfc2253 + " (SHA-256 " +
           w.certificate.fingerprint + ") is not one of a configured application server");
  }
  return refuse(config.tls ? "no credentials: a client certificate or HTTP Basic is required"
                           : "no credentials: application servers must call over HTTPS");
}

template <class Work>
int SoapServer::Impl::call(Worker& w, Metrics::SoapOperation op, const std::string& what,
                           Work work) {
  struct ::soap* soap = w.service->soap;
  const char* operation = toString(op);
  answerInRequestVersion(soap);
  const auto started = std::chrono::steady_clock::now();
  auto elapsed = [&](Metrics::SoapResult result, FaultCode fault) {
    const auto took = std::chrono::steady_clock::now() - started;
    if (metrics) metrics->soapAnswered(op, result, fault, took);
    return std::chrono::duration<double, std::milli>(took).count();
  };
  std::string caller = "?";
  try {
    // Before anything else reads the request: its fields as gSOAP decoded
    // them may no longer show what was wrong with their bytes.
    if (const auto& problem = w.textProblem())
      throw Fault(FaultCode::InvalidArgument, problem->message());
    const Caller c = authenticate(w, operation);
    caller = c.name;
    const std::string outcome = work(c);
    const double ms = elapsed(Metrics::SoapResult::Ok, FaultCode::Unavailable);
    spdlog::debug("soap call op={} peer={} app={} {} result=ok outcome={} duration_ms={:.1f}",
                  operation, w.peer, quoted(caller), what, quoted(outcome), ms);
    return SOAP_OK;
  } catch (const Fault& f) {
    const double ms = elapsed(Metrics::SoapResult::Fault, f.code());
    spdlog::debug("soap call op={} peer={} app={} {} result={} message={} duration_ms={:.1f}",
                  operation, w.peer, quoted(caller), what, toString(f.code()), quoted(f.what()),
                  ms);
    return setFault(soap, f.senderFault(), toWire(f.code()), f.what());
  } catch (...) {  // a bug: answered, logged once, counted (notifier/boundary.h)
    elapsed(Metrics::SoapResult::Error, FaultCode::Unavailable);
    reportCaught(Boundary::SoapRequest,
                 fmt::format("op={} peer={} app={} {}", operation, w.peer, quoted(caller), what));
    return setFault(soap, false, cm__FaultCode::Unavailable, "internal error");
  }
}

namespace {

std::string valueOf(const std::string* s) {
  return s ? *s : std::string();
}

std::string summary(const ContactStatus& s) {
  return std::string(toString(s.state)) + " (" + std::to_string(s.deliveries.size()) +
         " deliveries)";
}

}  // namespace

int SoapServer::Impl::contactMe(Worker& w, _cm__ContactMe* request, cm__ContactStatus& status) {
  if (!request) {
    answerInRequestVersion(w.service->soap);
    return setFault(w.service->soap, true, cm__FaultCode::InvalidArgument,
                    "ContactMe: the request is empty");
  }
  return call(
      w, Metrics::SoapOperation::ContactMe,
      fmt::format("device={} request={}", quoted(request->deviceId), quoted(request->requestId)),
      [&](const Caller& caller) {
        const ContactStatus result = service.contactMe(caller, toParams(*request));
        toWire(w.service->soap, result, status);
        return summary(result);
      });
}

int SoapServer::Impl::getContactRequest(Worker& w, _cm__GetContactRequest* request,
                                        cm__ContactStatus& status) {
  if (!request) {
    answerInRequestVersion(w.service->soap);
    return setFault(w.service->soap, true, cm__FaultCode::InvalidArgument,
                    "GetContactRequest: the request is empty");
  }
  return call(w, Metrics::SoapOperation::GetContactRequest,
              fmt::format("request={}", quoted(request->requestId)), [&](const Caller& caller) {
                const ContactStatus result = service.getContactRequest(
                    caller, request->requestId, valueOf(request->onBehalfOf));
                toWire(w.service->soap, result, status);
                return summary(result);
              });
}

int SoapServer::Impl::cancelContactRequest(Worker& w, _cm__CancelContactRequest* request,
                                           cm__ContactStatus& status) {
  if (!request) {
    answerInRequestVersion(w.service->soap);
    return setFault(w.service->soap, true, cm__FaultCode::InvalidArgument,
                    "CancelContactRequest: the request is empty");
  }
  return call(w, Metrics::SoapOperation::CancelContactRequest,
              fmt::format("request={}", quoted(request->requestId)), [&](const Caller& caller) {
                const ContactStatus result = service.cancelContactRequest(
                    caller, request->requestId, valueOf(request->onBehalfOf));
                toWire(w.service->soap, result, status);
                return summary(result);
              });
}

int SoapServer::Impl::getDevice(Worker& w, _cm__GetDevice* request, cm__Device& device) {
  if (!request) {
    answerInRequestVersion(w.service->soap);
    return setFault(w.service->soap, true, cm__FaultCode::InvalidArgument,
                    "GetDevice: the request is empty");
  }
  return call(w, Metrics::SoapOperation::GetDevice,
              fmt::format("device={}", quoted(request->deviceId)), [&](const Caller& caller) {
                const std::vector<Binding> bindings = service.getDevice(caller, request->deviceId);
                toWire(w.service->soap, request->deviceId, bindings, device);
                return std::to_string(bindings.size()) + " bindings";
              });
}

void SoapServer::Impl::refuseRequest(Worker& w) {
  struct ::soap* soap = w.service->soap;
  limitRefused(w.headerCut        ? Metrics::Limit::SoapHeaderTimeout
               : w.refusal == 408 ? Metrics::Limit::SoapRequestTimeout
               : w.refusal == 431 ? Metrics::Limit::SoapHeaderBytes
                                  : Metrics::Limit::SoapMaxBodyBytes);
  switch (w.refusal) {
    case 408:
      if (w.headerCut) {
        spdlog::warn(
            "soap: request from {} cut off: HTTP header not whole within {} ms "
            "(limits.soap_header_timeout_ms)",
            w.peer, config.limits.soapHeaderTimeout.count());
        break;
      }
      spdlog::warn(
          "soap: request from {} cut off: not whole within {} ms "
          "(limits.soap_request_timeout_ms)",
          w.peer, config.limits.soapRequestTimeout.count());
      break;
    case 431:
      spdlog::warn("soap: request from {} refused: HTTP header larger than {} bytes", w.peer,
                   kHeaderAllowance);
      break;
    default:
      spdlog::warn("soap: request from {} refused: body larger than {} bytes (soap.max_body_bytes)",
                   w.peer, config.maxBodyBytes);
  }
  // The rest of the request is never read: answer, then close.
  soap->keep_alive = 0;
  if (soap_valid_socket(soap->socket)) soap_send_empty_response(soap, w.refusal);
  soap_destroy(soap);
  soap_end(soap);
}

void SoapServer::Impl::serveConnection(Worker& w) {
  struct ::soap* soap = w.service->soap;
  // Like the generated ContactMeService::serve(), but freeing the request's
  // memory after every request of a keep-alive connection.
  soap->keep_alive = soap->max_keep_alive + 1;
  do {
    if (soap->keep_alive > 0 && soap->max_keep_alive > 0) soap->keep_alive--;
    w.startRequest();
    w.hostHeader.clear();
    w.gotGet = false;
    soap->userid = nullptr;  // HTTP Basic: of this request only
    soap->passwd = nullptr;
    // Fresh namespace table: forget the SOAP version of the previous request.
    soap_set_namespaces(soap, soap->namespaces);
    if (soap_begin_serve(soap)) {
      if (w.refusal) {
        refuseRequest(w);
        break;
      }
      // A GET answered (>= SOAP_STOP), the peer gone or idle (EOF), or a
      // request refused before dispatch (gSOAP has answered it).
      const int error = soap->error;
      if (error == 413) {
        spdlog::warn("soap: request from {} refused: body larger than {} bytes", w.peer,
                     config.maxBodyBytes);
      } else if (error < SOAP_STOP && error != SOAP_EOF && !(w.gotGet && error == 404)) {
        spdlog::warn("soap: bad request from {}: {}", w.peer, errorText(soap));
      }
      soap_destroy(soap);
      soap_end(soap);
      // A GET answered: the next request. A POST gSOAP did not take
      // (SOAP_POST and above) has no answer and an unread body: close.
      if (error >= SOAP_STOP && error < SOAP_POST) continue;
      break;
    }
    if (w.service->dispatch() && soap->error && soap->error < SOAP_STOP) {
      if (w.refusal) {
        refuseRequest(w);
        break;
      }
      answerInRequestVersion(soap);
      if (const auto& problem = w.textProblem()) {
        // Bytes gSOAP misread can make it fail in its own way; the cause is ours to name.
        spdlog::debug("soap: request from {} refused: {}", w.peer, problem->message());
        setFault(soap, true, cm__FaultCode::InvalidArgument, problem->message());
      } else {
        addDetailToGsoapFault(soap);  // gSOAP's own faults (validation) get our detail too
      }
      if (soap->error != SOAP_FAULT && soap->error != SOAP_CLI_FAULT &&
          soap->error != SOAP_SVR_FAULT) {
        spdlog::warn("soap: request from {} refused: {}", w.peer, errorText(soap));
      }
      soap_send_fault(soap);
      soap_destroy(soap);
      soap_end(soap);
      break;
    }
    soap_destroy(soap);
    soap_end(soap);
    w.servedOne = true;
  } while (soap->keep_alive);
}

SoapServer::~SoapServer() {
  stop();
  for (auto& w : impl_->workers) {
    if (w->service) {
      w->service->destroy();
      delete w->service;
    }
  }
}

void SoapServer::addGet(std::string path, GetHandler handler) {
  impl_->gets[std::move(path)] = std::move(handler);
}

void SoapServer::setMetrics(beckon::Metrics* metrics) {
  impl_->metrics = metrics;
}

void SoapServer::setIdentities(std::vector<AppServerIdentity> identities) {
  auto fresh = std::make_shared<const Authenticator>(std::move(identities));  // may throw
  if (!fresh->empty() && !impl_->config.tls) {
    spdlog::warn(
        "soap: application servers are configured but the listener is plain HTTP: they "
        "cannot authenticate (HTTP Basic needs HTTPS), every call will be refused");
  }
  std::lock_guard lock(impl_->authMutex);
  impl_->authenticator = std::move(fresh);
}

std::size_t SoapServer::waiting() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->queue.size();
}

void SoapServer::start() {
  Impl& m = *impl_;
  if (m.running) return;
  if (!m.workers.empty())
    throw std::logic_error("SoapServer::start: a stopped server cannot restart");
  const SoapConfig& c = m.config;
  m.master = std::make_unique<ContactMeService>(SOAP_IO_KEEPALIVE | SOAP_C_UTFSTRING);
  struct ::soap* soap = m.master->soap;
  soap->user = nullptr;
  soap->bind_flags = SO_REUSEADDR;
  soap->socket_flags = MSG_NOSIGNAL;
  soap->accept_timeout = -kAcceptTimeoutUs;
  soap->recv_timeout = gsoapTimeout(c.recvTimeoutMs);
  soap->send_timeout = gsoapTimeout(c.sendTimeoutMs);
  // gSOAP's own bound on a whole message, behind ours (receive()), which
  // starts at the request's first byte, not at the wait for it.
  const long long transferMs = c.limits.soapRequestTimeout.count() + c.recvTimeoutMs;
  soap->transfer_timeout = transferMs > 2'000'000 ? static_cast<int>(transferMs / 1000 + 1)
                                                  : gsoapTimeout(static_cast<int>(transferMs));
  // A backstop only (it truncates, and it counts a chunked message more than
  // once): Content-Length is checked in parseHeader, a chunked body counted
  // in receive(); both act first.
  soap->recv_maxlength = 2 * (c.maxBodyBytes + kHeaderAllowance + SOAP_BUFLEN);
  soap->maxlength = kMaxStringLength;
  soap->maxlevel = kMaxXmlDepth;
  soap->maxoccurs = kMaxOccurs;
  soap->fget = httpGet;
  m.defaultParseHeader = soap->fparsehdr;
  soap->fparsehdr = parseHeader;
  m.defaultParse = soap->fparse;
  soap->fparse = parseHttp;
  m.defaultPrepareReceive = soap->fpreparerecv;
  soap->fpreparerecv = prepareReceive;
  m.defaultRecv = soap->frecv;
  soap->frecv = receive;
  m.connections.emplace(c.limits.soapConnections, c.limits.soapConnectionsPerSource);
  m.room.emplace(c.tls.has_value(), c.limits.soapHeaderTimeout, kHeaderAllowance);

  if (c.tls) {
    try {
      setUpServerTls(m.master->soap, *c.tls);
    } catch (...) {
      m.master.reset();
      throw;
    }
  }
  if (m.authenticator->empty()) {
    spdlog::warn(
        "soap: no application server configured: SOAP calls are taken from loopback "
        "clients only");
  } else if (!c.tls) {
    spdlog::warn(
        "soap: application servers are configured but the listener is plain HTTP: they "
        "cannot authenticate (HTTP Basic needs HTTPS), every call will be refused");
  }

  const std::string where = c.host + ":" + std::to_string(c.port);
  if (!soap_valid_socket(m.master->bind(c.host.c_str(), c.port, static_cast<int>(c.backlog)))) {
    const std::string why = soap->errnum ? std::strerror(soap->errnum) : errorText(soap);
    m.master.reset();
    throw std::runtime_error("SOAP listener cannot bind " + where + ": " + why);
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  if (getsockname(soap->master, reinterpret_cast<sockaddr*>(&bound), &length) == 0) {
    m.boundPort = bound.ss_family == AF_INET6
                      ? ntohs(reinterpret_cast<const sockaddr_in6&>(bound).sin6_port)
                      : ntohs(reinterpret_cast<const sockaddr_in&>(bound).sin_port);
  } else {
    m.boundPort = c.port;
  }

  m.stopping = false;
  const unsigned count = c.workers ? c.workers : 1;
  for (unsigned i = 0; i < count; ++i) {
    auto w = std::make_unique<Worker>();
    w->server = &m;
    w->service = m.master->copy();  // soap_copy: the settings above, its own buffers
    w->service->soap->user = w.get();
    m.workers.push_back(std::move(w));
  }
  for (std::size_t i = 0; i < m.workers.size(); ++i) {
    m.workers[i]->thread = namedThread("soap-" + std::to_string(i),
                                       [&m, wp = m.workers[i].get()] { m.workerLoop(*wp); });
  }
  m.acceptThread = namedThread("soap-accept", [&m] { m.acceptLoop(); });
  m.running = true;
  const bool v6 = c.host.find(':') != std::string::npos;
  spdlog::info("soap: listening on {}://{}{}{}:{} ({} workers, {} application servers)",
               c.tls ? "https" : "http", v6 ? "[" : "", c.host, v6 ? "]" : "", m.boundPort, count,
               m.authenticator->identities().size());
}

void SoapServer::stop() {
  Impl& m = *impl_;
  if (!m.running) return;
  {
    std::lock_guard lock(m.mutex);
    m.stopping = true;
  }
  if (m.acceptThread.joinable()) m.acceptThread.join();
  struct ::soap* soap = m.master->soap;
  if (soap_valid_socket(soap->master)) {
    soap_closesocket(soap->master);
    soap->master = SOAP_INVALID_SOCKET;
  }
  {
    std::lock_guard lock(m.mutex);
    for (const Accepted& a : m.queue) {
      soap_closesocket(a.socket);
      m.connections->release(a.source);
    }
    m.queue.clear();
    for (const Accepted& a : m.room->takeAll()) {
      soap_closesocket(a.socket);
      m.connections->release(a.source);
    }
    // Calls in progress still answer; the next read of each connection sees
    // EOF, so idle keep-alive connections end now instead of at recv_timeout.
    for (auto& w : m.workers) {
      if (soap_valid_socket(w->current)) ::shutdown(w->current, SHUT_RD);
    }
  }
  m.wake.notify_all();
  for (auto& w : m.workers) {
    if (w->thread.joinable()) w->thread.join();
  }
  m.running = false;
  spdlog::info("soap: stopped");
}

std::uint16_t SoapServer::port() const {
  return impl_->boundPort;
}

}  // namespace beckon::soap

// soapcpp2 -j declares the operation on the generated service class; every
// worker's copy is that class, so it is defined here (not in a subclass:
// copy() would return the base) and finds its worker through soap->user.
int ContactMeService::ContactMe(_cm__ContactMe* cm__ContactMe, cm__ContactStatus& status) {
  beckon::soap::Worker& w = beckon::soap::workerOf(soap);
  return w.server->contactMe(w, cm__ContactMe, status);
}

int ContactMeService::GetContactRequest(_cm__GetContactRequest* cm__GetContactRequest,
                                        cm__ContactStatus& status) {
  beckon::soap::Worker& w = beckon::soap::workerOf(soap);
  return w.server->getContactRequest(w, cm__GetContactRequest, status);
}

int ContactMeService::CancelContactRequest(_cm__CancelContactRequest* cm__CancelContactRequest,
                                           cm__ContactStatus& status) {
  beckon::soap::Worker& w = beckon::soap::workerOf(soap);
  return w.server->cancelContactRequest(w, cm__CancelContactRequest, status);
}

int ContactMeService::GetDevice(_cm__GetDevice* cm__GetDevice, cm__Device& device) {
  beckon::soap::Worker& w = beckon::soap::workerOf(soap);
  return w.server->getDevice(w, cm__GetDevice, device);
}

// The registration notice goes the other way (beckond calls application
// servers, soap/notice_sender.h); the generated service still dispatches it.
int ContactMeService::DeviceRegistered(_cm__DeviceRegistered* /*request*/,
                                       _cm__DeviceRegisteredResponse& /*response*/) {
  beckon::soap::answerInRequestVersion(soap);
  if (const auto& problem = beckon::soap::workerOf(soap).textProblem())
    return beckon::soap::setFault(soap, true, cm__FaultCode::InvalidArgument, problem->message());
  return beckon::soap::setFault(soap, true, cm__FaultCode::InvalidArgument,
                                "DeviceRegistered is implemented by application servers; beckond "
                                "sends it and does not take it");
}
