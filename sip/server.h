// The SIP side of beckond: one thread that owns the Sofia-SIP root, the nta
// agent and everything that touches them, including the core. Other threads
// reach it only through post().
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core.h"
#include "flow.h"
#include "notify_sender.h"
#include "ports.h"
#include "authorizer.h"
#include "b2bua/b2bua.h"
#include "connection_guard.h"
#include "event_server.h"
#include "forking.h"
#include "proxy.h"
#include "registrar.h"
#include "sofia.h"

namespace beckon::sip {

// [sip.tls]: the certificate of the TLS transport (sips, RFC 3261 26.2).
struct SipTls {
  std::string cert;  // PEM certificate (chain)
  std::string key;   // PEM private key
  std::string ca;    // PEM CAs (for peers' certificates); may be empty
};

struct SipConfig {
  // "udp:HOST:PORT", "tcp:HOST:PORT", "tls:HOST:PORT"; HOST may be an [IPv6] reference.
  std::vector<std::string> listen{"udp:0.0.0.0:5060", "tcp:0.0.0.0:5060"};
  std::optional<SipTls> tls;
  // Room for datagrams that arrive while the SIP thread is busy: at 10,000
  // REGISTER/s the kernel's default (~90 datagrams) lasts 9 ms.
  unsigned udpReceiveBuffer = 4 << 20;
  std::chrono::milliseconds notifyTimeout{32000};
  std::vector<NotifyCredential> notifyCredentials;
  SipAuthConfig auth;  // [sip.auth]: digest authentication of REGISTER and SUBSCRIBE
  RegistrarConfig registrar;
  Limits limits;      // [limits]: the sip_*, aor_*, bindings and subscriptions keys apply here
  ProxyConfig proxy;  // [proxy]: requests other than REGISTER and SUBSCRIBE
};

// "udp:127.0.0.1:5060" -> "sip:127.0.0.1:5060;transport=udp",
// "tls:[::1]:5061" -> "sips:[::1]:5061;transport=tls". Throws
// std::invalid_argument naming what is wrong.
std::string listenUrl(const std::string& spec);

class SipServer final : public Executor {
 public:
  explicit SipServer(SipConfig config);
  ~SipServer() override;
  SipServer(const SipServer&) = delete;
  SipServer& operator=(const SipServer&) = delete;

  NotifySender& notifySender() { return sender_; }

  // Binds every listen address and starts the SIP thread, which from then on
  // owns `core`, and first gives it back what a previous run saved
  // (`restored`). Throws std::runtime_error naming the address that failed.
  void start(Core& core, const Clock& clock, StoredState restored = {});
  // Stops the thread; pending NOTIFYs are dropped (their requests stay in the core).
  void stop();

  bool post(std::function<void()> work) override;
  // Work posted and not yet taken by the SIP thread (for the metrics).
  std::size_t backlog();

  // SIGHUP: new [[notify_credentials]] and [sip.auth] (realm, users, nonce
  // lifetime, methods), applied on the SIP thread. False when the SIP thread
  // did not apply them within `bound`.
  bool reload(std::vector<NotifyCredential> credentials, SipAuthConfig auth,
              std::chrono::milliseconds bound = std::chrono::milliseconds(2000));
  // SIGUSR1: the proxy's Record-Route key rotated now (docs/proxy.md);
  // logged on the SIP thread once the new key is stored.
  void rotateDialogKey();

 private:
  void run(Core* core, const Clock* clock, StoredState* restored, std::promise<void>* ready);
  // A restored binding's flow (UDP: its listening socket) and dialog.
  void reattach(Binding& b, std::unordered_map<tport_t*, std::shared_ptr<Flow>>& udpFlows);
  void setUp(Core& core, const Clock& clock);
  void tearDown();
  static int onMessage(SipServer* self, nta_agent_t* agent, msg_t* msg, sip_t* sip);
  static void handleMessage(SipServer* self, nta_agent_t* agent, msg_t* msg, sip_t* sip);
  static int onLegRequest(SipServer* self, nta_leg_t* leg, nta_incoming_t* irq, sip_t const* sip);
  static int handleDialogRequest(SipServer* self, nta_leg_t* leg, nta_incoming_t* irq,
                                 sip_t const* sip);
  static int onDialogRequest(SipServer* self, nta_leg_t* leg, nta_incoming_t* irq,
                             sip_t const* sip);
  static void onWork(SipServer* self, su_msg_r msg, su_msg_arg_t* arg);
  static void onTick(SipServer* self, su_timer_t* timer, su_timer_arg_t* arg);

  SipConfig config_;
  std::thread thread_;
  std::mutex mutex_;  // guards root_, inbox_ and wakeupPending_ (post() from other threads)
  std::deque<std::function<void()>> inbox_;
  bool wakeupPending_ = false;
  su_root_t* root_ = nullptr;
  nta_agent_t* agent_ = nullptr;
  nta_leg_t* leg_ = nullptr;
  su_timer_t* tick_ = nullptr;
  Core* core_ = nullptr;
  AgentResources resources_;
  NtaNotifySender sender_;
  std::unique_ptr<RequestAuthorizer> authorizer_;
  std::unique_ptr<ConnectionGuard> guard_;
  std::unique_ptr<RequestLimits> requestLimits_;
  std::unique_ptr<Registrar> registrar_;
  std::unique_ptr<EventServer> events_;
  std::unique_ptr<Proxy> proxy_;         // null when [proxy] enabled = false
  std::unique_ptr<b2bua::B2bua> b2bua_;  // with the proxy
  std::vector<DialogKey> dialogKeys_;    // as restored, for the proxy
};

}  // namespace beckon::sip
