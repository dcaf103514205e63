// The SOAP listener's connections: accepting them ([limits]
// soap_connections*), the waiting room before a worker (waiting_room.h),
// the TLS handshake, and each worker's loop.
#include "soap_server_impl.h"

namespace beckon::soap {

void SoapServer::Impl::workerLoop(Worker& w) {
  for (;;) {
    Accepted a;
    {
      std::unique_lock lock(mutex);
      wake.wait(lock, [&] { return stopping || !queue.empty(); });
      if (stopping) return;  // stop() closes what is still queued
      a = queue.front();
      queue.pop_front();
      w.current = a.socket;
    }
    struct ::soap* soap = w.service->soap;
    soap->socket = a.socket;
    std::memcpy(&soap->peer, &a.peer, sizeof a.peer);
    soap->peerlen = a.peerLength;
    w.loopbackPeer = isLoopback(a.peer);
    w.peer = addressText(a.peer);
    w.certificate = {};
    w.servedOne = false;
    // A new connection starts with nothing read. gSOAP keeps what it had
    // buffered for the next request of a keep-alive connection, so what an
    // earlier connection left unread (the body of a request it refused
    // before reading it) would be taken as this connection's request, and
    // its answer sent to this client.
    soap->bufidx = soap->buflen = 0;
    soap->ahead = 0;
    soap->chunksize = soap->chunkbuflen = 0;
    const bool served = guarded(
        Boundary::SoapRequest,
        [&] {
          if (!config.tls || acceptTls(w)) serveConnection(w);
        },
        [&] { return fmt::format("peer={}", w.peer); });
    if (!served) {
      soap_destroy(soap);
      soap_end(soap);
    }
    {
      std::lock_guard lock(mutex);
      w.current = SOAP_INVALID_SOCKET;  // before closing: stop() must not touch a reused fd
      connections->release(a.source);
    }
    soap_force_closesock(soap);
  }
}

bool SoapServer::Impl::acceptTls(Worker& w) {
  struct ::soap* soap = w.service->soap;
  if (soap_ssl_accept(soap) != SOAP_OK) {
    spdlog::warn("soap: TLS handshake with {} failed: {}", w.peer, errorText(soap));
    return false;
  }
  w.certificate = verifiedPeerCertificate(soap->ssl);
  if (!w.certificate.fingerprint.empty()) {
    const AppServerIdentity* id = currentAuthenticator()->byCertificate(w.certificate);
    spdlog::debug("soap: {} presented certificate {} (SHA-256 {}): {}", w.peer,
                  w.certificate.subjectRfc2253, w.certificate.fingerprint,
                  id ? id->name : std::string("no identity"));
  }
  return true;
}

void SoapServer::Impl::enqueue(Accepted a) {
  if (stopping || queue.size() >= config.backlog) {
    if (!stopping) {
      spdlog::warn("soap: {} connections waiting, refusing {}", queue.size(), addressText(a.peer));
    }
    connections->release(a.source);
    soap_closesocket(a.socket);
    return;
  }
  queue.push_back(std::move(a));
  wake.notify_one();
}

void SoapServer::Impl::acceptLoop() {
  struct ::soap* soap = master->soap;
  for (;;) {
    {
      std::lock_guard lock(mutex);
      if (stopping) return;
    }
    // New connections wait in the room until their header is whole
    // (waiting_room.h); only then do they take a worker.
    WaitingRoom::Outcome news =
        room->wait(soap->master, std::chrono::milliseconds(kAcceptTimeoutUs / 1000));
    {
      std::lock_guard lock(mutex);
      for (Accepted& a : news.gone) {
        connections->release(a.source);
        soap_closesocket(a.socket);
      }
      for (Accepted& a : news.expired) {
        limitRefused(Metrics::Limit::SoapHeaderTimeout);
        if (const auto held = waitLog.pass(std::chrono::steady_clock::now())) {
          spdlog::warn(
              "soap: connection from {} reset: no whole HTTP header within {} ms "
              "(limits.soap_header_timeout_ms; {} more such since the last line)",
              a.source, config.limits.soapHeaderTimeout.count(), *held);
        }
        connections->release(a.source);
        resetAndClose(a.socket);
      }
      for (Accepted& a : news.ready)
        enqueue(std::move(a));
    }
    if (!news.incoming) continue;
    const SOAP_SOCKET s = soap_accept(soap);
    if (!soap_valid_socket(s)) {
      if (soap->errnum != 0) {
        spdlog::warn("soap: accept failed: {}", std::strerror(soap->errnum));
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      continue;  // errnum 0: accept_timeout, look at the stop flag again
    }
    Accepted a;
    a.socket = s;
    std::memcpy(&a.peer, &soap->peer, sizeof a.peer);
    a.peerLength = soap->peerlen;
    a.source = hostText(a.peer);
    a.acceptedAt = std::chrono::steady_clock::now();
    soap->socket = SOAP_INVALID_SOCKET;  // it belongs to a worker now
    std::lock_guard lock(mutex);
    // [limits] soap_connections*: refused at once (one log line a second at most).
    if (const auto verdict =
            stopping ? ConnectionCount::Verdict::Admitted : connections->admit(a.source);
        verdict != ConnectionCount::Verdict::Admitted) {
      limitRefused(verdict == ConnectionCount::Verdict::SourceFull
                       ? Metrics::Limit::SoapConnectionsPerSource
                       : Metrics::Limit::SoapConnections);
      if (const auto held = refusalLog.pass(std::chrono::steady_clock::now())) {
        spdlog::warn("soap: connection from {} refused: {} ({} more such since the last line)",
                     a.source,
                     verdict == ConnectionCount::Verdict::SourceFull
                         ? std::to_string(connections->from(a.source)) +
                               " connections open (limits.soap_connections_per_source)"
                         : std::to_string(connections->total()) +
                               " connections open (limits.soap_connections)",
                     *held);
      }
      resetAndClose(s);
      continue;
    }
    if (stopping) {
      soap_closesocket(s);
      continue;
    }
    room->add(std::move(a));
  }
}

SoapServer::SoapServer(SoapConfig config, ContactService& service)
    : impl_(std::make_unique<Impl>(std::move(config), service)) {}

}  // namespace beckon::soap
