// beckon-ua's user agent on Sofia-SIP nua: registers or subscribes to the
// contact-me package, answers its NOTIFYs and has the application server
// called back, places, answers, rejects and ends calls (SDP offer/answer,
// no media). Everything Sofia runs on the thread that calls run(); the
// HTTP callbacks run on the CallbackWorker's thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "body.h"
#include "callback.h"
#include "callback_plan.h"
#include "report.h"
#include "sofia.h"

namespace beckon::ua {

// --exit-after KIND[:N]: exit once N events of KIND were reported.
struct ExitCondition {
  std::string kind;
  unsigned count = 1;
};

struct AgentOptions {
  // who
  std::string aor;       // From (and To of REGISTER/SUBSCRIBE), sip:user@domain
  std::string instance;  // +sip.instance URN, without <>
  std::string displayName;
  // where it listens
  std::string listen;     // HOST:PORT for UDP and TCP
  std::string tlsListen;  // HOST:PORT for TLS, or empty
  std::string caFile;     // CAs for SIP TLS peers and https servers
  std::string certFile;   // our certificate (TLS server, client)
  std::string keyFile;
  // beckond
  std::string registrar;  // sip:/sips: URI, or empty
  bool doRegister = false;
  bool doSubscribe = false;
  unsigned expires = 300;
  std::string package = "application-server-contact-me";
  std::vector<BodyFormat> accept{BodyFormat::Text, BodyFormat::Xml};
  std::string authUser;
  std::string password;
  bool anySource = false;  // take contact-me NOTIFYs from anywhere, not only the registrar
  // callbacks
  std::vector<std::string> trust;
  CallbackDefaults defaults{"", "https"};
  long httpTimeoutMs = 10000;
  // calls
  std::string proxy;  // outbound proxy for calls, or empty (direct)
  std::string call;   // URI to call at start (after registering), or empty
  std::optional<long> answerAfterMs;
  int rejectCode = 0;
  std::optional<double> reinviteAfterS;
  std::optional<double> infoAfterS;
  std::optional<double> hangupAfterS;
  // the run
  std::vector<ExitCondition> exitAfter;
  double timeoutS = 0;  // 0: none
  bool json = false;
  bool traceSip = false;
};

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitTimeout = 3;

class Agent {
 public:
  explicit Agent(AgentOptions options);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Runs until an exit condition, the timeout, SIGINT/SIGTERM or a failure;
  // returns the exit status.
  int run();

  // nua's event callback (static trampoline in agent.cpp).
  void onEvent(nua_event_t event, int status, const char* phrase, nua_handle_t* nh,
               const sip_t* sip, tagi_t tags[]);

 private:
  using Clock = std::chrono::steady_clock;
  struct Call;

  void start();
  void registerNow(const std::string& authorization = "", bool proxy = false);
  void subscribeNow(const std::string& authorization = "", bool proxy = false);
  void placeCall();
  void answerCall(unsigned id);
  void reinvite(unsigned id);
  void sendInfo(unsigned id);
  void hangUp(unsigned id);
  Call* findCall(unsigned id);
  // The call `nh` belongs to: its dialog's, or one of its reconstruction's.
  Call* findCall(nua_handle_t* nh);
  // At the set-up of a dialog: its time.
  void noteDialog(Call& c);
  // The dialog's tags from a request of the peer's or an answer to ours.
  void noteTags(Call& c, const sip_t* sip, bool request);
  // --reinvite-after, --hangup-after from now, for the call's current dialog.
  void armCallTimers(Call& c);

  // Dialog reconstruction (ua/reconstruction.cpp, docs/beckon-ua.md).
  // A 481 to our in-dialog request: the REFER when it carries an
  // Accessible-Since after the dialog's set-up, else the call ends.
  void reconstructOr481(Call& c, const sip_t* sip);
  void onReferAnswer(Call& c, int status, const char* phrase);
  void onRefer(nua_handle_t* nh, const sip_t* sip);
  void onReplacingInvite(nua_handle_t* nh, const sip_t* sip);
  void onReplacingInviteAnswer(Call& c, nua_handle_t* nh, int status, const sip_t* sip);
  void onReconstructionState(Call& c, nua_handle_t* nh, int state, int status);
  void rebuilt(Call& c, const std::string& by);
  void endCall(Call& c, int status, const std::string& reason);
  // Route tags for a request outside a dialog: nua's --proxy, else the registrar.
  std::string firstRoute() const;

  void onRegister(nua_event_t event, int status, const char* phrase, const sip_t* sip);
  void onSubscribe(int status, const char* phrase, const sip_t* sip);
  void onNotify(int status, nua_handle_t* nh, const sip_t* sip, tagi_t tags[]);
  void onInvite(nua_handle_t* nh, const sip_t* sip);
  void onCallState(nua_handle_t* nh, int status, const char* phrase, const sip_t* sip,
                   tagi_t tags[]);
  // The Authorization value answering the challenges in `sip`, or "".
  std::string credentialsFor(const sip_t* sip, const std::string& method, const std::string& uri);
  // A 401/407 to our INVITE: true when it is being answered (by nua, or
  // by inviteAgain() once nua has ended the call).
  bool authenticateCall(Call& c, const sip_t* sip);
  void inviteAgain(Call& c);
  // When nua's own digest client took the challenges in `sip` (MD5 only)
  // and waits for credentials: gives them (nua_authenticate) and returns
  // true. Otherwise nua gave up, and the request is sent again with
  // credentialsFor().
  bool nuaAuthenticates(nua_handle_t* nh, const sip_t* sip, const std::string& method);
  // The "auth" event: which challenge was answered, and by which client.
  void reportAuth(const sip_t* sip, const std::string& method, const std::string& realm,
                  const std::string& algorithm, const char* client);

  // Whether the request being handled came from the registrar; `source`
  // is where it came from.
  bool fromRegistrar(std::string& source) const;
  void report(const std::string& event, const Event& fields);
  void after(Clock::duration delay, std::function<void()> fn);
  void runDue();
  bool exitConditionsMet() const;
  void fail(const std::string& why);
  std::string acceptHeader() const;
  std::string contactFeatures() const;
  std::string sdpAddress() const;

  AgentOptions o_;
  Reporter reporter_;
  TrustList trust_;
  std::unique_ptr<CallbackWorker> worker_;
  su_root_t* root_ = nullptr;
  nua_t* nua_ = nullptr;
  nua_handle_t* register_ = nullptr;
  nua_handle_t* subscribe_ = nullptr;
  unsigned registerTries_ = 0;
  unsigned subscribeTries_ = 0;
  bool registered_ = false;
  bool subscribed_ = false;
  std::string subscribeTarget_;  // the subscription dialog's remote target
  std::string user_;             // the user part of the address of record
  bool callPlaced_ = false;
  std::map<unsigned, std::unique_ptr<Call>> calls_;
  unsigned nextCall_ = 1;
  std::multimap<Clock::time_point, std::function<void()>> timers_;
  std::map<std::string, unsigned> counts_;
  std::set<std::string> seenRequests_;  // "beckon URI request-id": one callback per request
  std::vector<std::pair<std::string, std::string>> registrarAddresses_;  // (ip, port)
  bool shutdownDone_ = false;
  int exitStatus_ = -1;  // set when the run is to end
  std::string exitReason_;
};

}  // namespace beckon::ua
