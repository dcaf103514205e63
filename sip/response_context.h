// The response context of one proxied request (RFC 3261 16.7 to 16.10): its
// server transaction, its branches (client transactions), the groups of
// targets still to try (sequential forking, forwarding), the timers that
// move the hunt on, and the choice of the response the caller gets.
#pragma once

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "boundary.h"
#include "proxy.h"
#include "sofia.h"

namespace beckon::sip {

class ResponseContext {
 public:
  // Takes `irq` and a reference of `request` (its request message).
  // `rule`: the callee's [[proxy.user]] for an INVITE (forwarding, ring
  // times), else null.
  ResponseContext(Proxy& proxy, nta_incoming_t* irq, msg_t* request, bool invite,
                  std::string loopHash, std::vector<TargetGroup> groups, const ProxyUser* rule,
                  RecordRouting rr);
  ResponseContext(const ResponseContext&) = delete;
  ResponseContext& operator=(const ResponseContext&) = delete;

  void start();
  // Ends at once (beckond stops): pending branches are CANCELled, the caller
  // gets 500 unless it had its final response.
  void shutdown();

 private:
  struct Branch;
  class Entry;
  ~ResponseContext();

  static int onBranchResponse(PendingNotify* magic, nta_outgoing_t* orq, sip_t const* sip);
  static int onCancel(ResponseContext* ctx, nta_incoming_t* irq, sip_t const* sip);
  static void onRingTimeout(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg);
  static void onNoAnswerTimeout(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg);
  // Runs a callback's work; an exception ends the context (the caller gets
  // 500 unless it had its final response), see notifier/boundary.h.
  template <class F>
  static void guard(ResponseContext* c, Boundary where, F&& f, sip_t const* sip = nullptr);
  void cancel();

  void onResponse(Branch& b, nta_outgoing_t* orq, int status, sip_t const* sip);
  void advance();
  void step();
  void launchNextGroup();
  bool launch(const Target& target);
  bool send(Branch& b);
  bool wake(Branch& b);
  void onWake(Branch& b, const WakeOutcome& outcome);
  bool recurse(Branch& b, sip_t const* sip);
  void huntOver();
  void forwardTo(const std::string& uri, const char* why);
  void sendFinal(int status, const char* phrase, Branch* from);
  void relay(nta_outgoing_t* orq);
  bool relay(msg_t* response);  // takes it
  void abandon(Branch& b);
  void abandonPending();
  bool anyPending() const;
  su_timer_t* startTimer(std::chrono::milliseconds after, su_timer_f f);
  void stopTimer(su_timer_t*& t);
  void destroy();

  Proxy& proxy_;
  nta_incoming_t* irq_;
  msg_t* request_;
  const bool invite_;
  const std::string loopHash_;
  std::vector<TargetGroup> groups_;  // still to try, first first
  std::size_t nextGroup_ = 0;
  const ProxyUser* rule_;
  const RecordRouting rr_;
  std::vector<std::unique_ptr<Branch>> branches_;
  std::unordered_set<std::string> tried_;
  su_timer_t* ringTimer_ = nullptr;
  su_timer_t* noAnswerTimer_ = nullptr;
  int redirects_ = 0;
  int depth_ = 0;  // entries in progress (see Entry)
  bool advancing_ = false;
  bool again_ = false;
  bool launchedAny_ = false;
  bool ringExpired_ = false;
  bool noAnswerExpired_ = false;
  bool forwarded_ = false;
  bool finalSent_ = false;
  bool done_ = false;
};

}  // namespace beckon::sip
