// One B2BUA call: the caller's dialog (side A: beckond is its UAS) and the
// callee's (side B: beckond is its UAC), each an nta leg of its own, and
// the transactions relayed between them. Offer and answer go through
// unchanged: the media never goes through beckond.
//
//   INVITE from A   -> a new INVITE to each target of B (forked, over the
//                      binding's flow), 18x relayed, the first 2xx wins:
//                      ACK to B, the others CANCELled, 2xx to A
//   CANCEL from A   -> the branches CANCELled, 487 to A
//   in-dialog       -> re-INVITE, UPDATE, INFO, MESSAGE (and any other
//                      method) relayed to the other side, its answer back;
//                      a re-INVITE or UPDATE while one is pending: 491
//   BYE from either -> 200, BYE to the other side, the call ends
//
// Keeping the conversation (sip-core.md): when the callee's flow is lost
// (its connection closed, or a request to it failing with 408, 430, 481
// or 503), the caller is told nothing; a new INVITE with the caller's
// current SDP goes to every binding of the callee's address of record
// (and to each one that registers while it tries), for up to
// b2bua.continuity_timeout_s. The same device answering: nothing more,
// unless its SDP changed (a re-INVITE with it); another device: a
// re-INVITE naming it (docs/b2bua.md). MESSAGEs the caller sends meanwhile
// get 202 and are delivered in order once the new leg is up. Nobody
// answering: BYE with a Reason to the caller.
//
// Whatever goes wrong on one leg becomes the answer on the other: a final
// error for the initial INVITE, the status of a relayed request, or a BYE.
#pragma once

#include <chrono>
#include <deque>
#include <list>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "b2bua.h"
#include "boundary.h"

namespace beckon::sip::b2bua {

class Call {
 public:
  // A message body: the session descriptions, the held MESSAGEs.
  struct Body {
    std::string type;  // Content-Type; empty: no body
    std::string bytes;
    bool operator==(const Body&) const = default;
  };

  Call(B2bua& owner, std::uint64_t id);
  ~Call();  // every transaction and leg still held goes; a pending INVITE gets 500
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  // Takes `msg`, the caller's INVITE.
  void start(msg_t* msg, sip_t* sip, const Source& source, std::vector<TargetGroup> groups);
  // beckond stops: both sides are told (CANCEL or BYE), the caller 500 if it
  // had no final answer.
  void shutdown();
  // The B2bua's timer (every 100 ms): a lost callee flow, the bindings to
  // try while rebuilding, the continuity timeout.
  void tick();

 private:
  enum class State { Calling, Up, Rebuilding, Ending };
  struct Side {
    nta_leg_t* leg = nullptr;
    FlowAddress flow;              // how requests reach it
    std::shared_ptr<Flow> owned;   // the binding's flow (side B)
    tport_t* udpSocket = nullptr;  // for UDP, the socket to send from
    // The caller's TCP/TLS connection, referenced while the call lasts: no
    // binding holds it, and an idle one would be closed (limits.sip_idle_ms).
    tport_t* held = nullptr;
    std::string contact;  // beckond's Contact toward it
    // RFC 4028 session timer of this leg: its interval (0: none), who
    // refreshes it, when it was last refreshed, a refresh of ours on its way.
    std::chrono::seconds interval{0};
    bool weRefresh = false;
    std::chrono::steady_clock::time_point refreshed;
    bool refreshing = false;
  };
  struct Branch;
  struct Relay;

  static int onLegRequest(SipServer* magic, nta_leg_t* leg, nta_incoming_t* irq, sip_t const* sip);
  static int onCancel(ResponseContext* magic, nta_incoming_t* irq, sip_t const* sip);
  static int onBranchResponse(PendingNotify* magic, nta_outgoing_t* orq, sip_t const* sip);
  static int onRelayResponse(PendingNotify* magic, nta_outgoing_t* orq, sip_t const* sip);
  template <class F>
  static void guard(Call* c, Boundary where, F&& f, sip_t const* sip);

  int onRequest(int side, nta_incoming_t* irq, sip_t const* sip);
  void onBranch(Branch& b, nta_outgoing_t* orq, sip_t const* sip);
  void onRelay(Relay& r, nta_outgoing_t* orq, sip_t const* sip);
  void launchNextGroup();
  void send(Branch& b);
  // A new branch to `t`, or null when the call has 32 or already tried it.
  Branch* addBranch(Target t);
  // After nta_outgoing_tcreate() for `r`: false (and `r` dropped) when
  // nothing was sent; a transport error may have answered `r` already.
  bool adopt(Relay& r, nta_outgoing_t* orq);
  void answered(Branch& b, sip_t const* sip);
  void takeCallee(Branch& b, sip_t const* sip);
  void rebuild(const char* why);
  void launchRebuild();
  void rebuilt(Branch& b, sip_t const* sip);
  void tellCaller(const Branch& b, bool sameDevice);
  void deliverHeld();
  // Session timers (session_timer.cpp).
  void timerFromCallee(sip_t const* response);
  std::string timerForCaller(bool& require);
  void timerFromRequest(int side, sip_t const* request);
  std::string sessionExpires(int side, bool inRequest) const;
  void sessionRefreshed(int side);
  void sessionTick();
  void refresh(int side, sip_method_t method);
  bool newCalleeLeg();
  bool calleeFlowLost() const;
  void huntOver();
  void failCaller(int status, const char* phrase);
  int relay(int from, nta_incoming_t* irq, sip_t const* sip);
  void bye(int from, sip_t const* reason);
  void sendBye(int side, const char* reason);
  void ack(int side, sip_t const* response);
  bool pathTo(int side, std::string& hop, tport_t*& tport) const;
  void cancelBranches();
  void finish();

  B2bua& owner_;
  const std::uint64_t id_;
  Side sides_[2];
  nta_incoming_t* invite_ = nullptr;  // the caller's INVITE, until answered
  State state_ = State::Calling;
  std::vector<TargetGroup> groups_;
  std::size_t nextGroup_ = 0;
  std::list<std::unique_ptr<Branch>> branches_;
  std::list<std::unique_ptr<Relay>> relays_;
  msg_t* offer_ = nullptr;  // the caller's INVITE (its Subject, ...)
  Body sdp_[2];             // each side's current session description
  std::string calleeAor_;   // where a lost callee leg is rebuilt
  std::string device_;      // the callee's device (Target::device)
  std::chrono::steady_clock::time_point lostAt_;
  std::deque<Body> held_;                  // the caller's MESSAGEs while rebuilding, in order
  bool delivering_ = false;                // the first of held_ is on its way
  std::unordered_set<std::string> tried_;  // Target::key()s: each place once
  std::string sipCallId_;                  // the caller's, for logs
  unsigned maxForwards_ = 70;
  bool counted_ = false;    // in beckon_b2bua_calls
  bool launching_ = false;  // in launchNextGroup(): branch answers wait for it
  bool done_ = false;       // over: deleted by the B2bua's next tick
};

}  // namespace beckon::sip::b2bua
