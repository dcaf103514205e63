// RFC 3261 16.7 "Response Processing", 16.10 "CANCEL Processing", and the
// forking and forwarding of sip-core.md on top of them.
#include "response_context.h"

#include "boundary.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace beckon::sip {

namespace {

// At most this many branches in one response context (forks, hunt steps,
// redirections): a bound on what one request can make us send.
constexpr std::size_t kMaxBranches = 32;
// At most this many 3xx followed in one response context.
constexpr int kMaxRedirects = 3;
// A request other than INVITE waits at most this long for a pushed device:
// its client transaction at the caller gives up after 64*T1 (32 s, RFC
// 3261 17.1.2.2), with or without our 100.
constexpr std::chrono::milliseconds kNonInviteWakeWait{25000};

std::string hostPort(const FlowAddress& f) {
  const bool v6 = f.host.find(':') != std::string::npos;
  return (v6 ? "[" + f.host + "]" : f.host) + ":" + std::to_string(f.port);
}

}  // namespace

struct ResponseContext::Branch {
  ResponseContext* ctx;
  Target target;
  nta_outgoing_t* orq = nullptr;
  int status = 0;             // of its latest response
  bool abandoned = false;     // CANCELled or dropped by us: its answer no longer counts
  bool superseded = false;    // its final response came before a forwarding or a recursion
  msg_t* response = nullptr;  // its final non-2xx, kept for "choosing the best response"
  std::string phrase;
  bool waking = false;  // its device is being woken by a push (target.wake)
  std::uint64_t wakeId = 0;

  bool pending() const { return !abandoned && status < 200; }
  bool candidate() const { return !abandoned && !superseded && status >= 300; }
};

// Every way into a context (a response, a CANCEL, a timer) holds an Entry:
// a context that is done goes only when the outermost one leaves, never
// under a caller's feet.
class ResponseContext::Entry {
 public:
  explicit Entry(ResponseContext* c) : c_(c) { ++c_->depth_; }
  ~Entry() {
    if (--c_->depth_ == 0 && c_->done_) c_->destroy();
  }
  Entry(const Entry&) = delete;
  Entry& operator=(const Entry&) = delete;

 private:
  ResponseContext* c_;
};

ResponseContext::ResponseContext(Proxy& proxy, nta_incoming_t* irq, msg_t* request, bool invite,
                                 std::string loopHash, std::vector<TargetGroup> groups,
                                 const ProxyUser* rule, RecordRouting rr)
    : proxy_(proxy),
      irq_(irq),
      request_(request),
      invite_(invite),
      loopHash_(std::move(loopHash)),
      groups_(std::move(groups)),
      rule_(rule),
      rr_(std::move(rr)) {}

ResponseContext::~ResponseContext() = default;

void ResponseContext::start() {
  Entry entry(this);
  // 16.10: a CANCEL for this request reaches onCancel().
  if (invite_) nta_incoming_bind(irq_, &ResponseContext::onCancel, this);
  // Forward on no answer: one clock for the whole hunt.
  if (rule_ && rule_->forwardNoAnswer.count() > 0 &&
      (!rule_->forwardTo.empty() || !rule_->voicemail.empty())) {
    noAnswerTimer_ = startTimer(rule_->forwardNoAnswer, &ResponseContext::onNoAnswerTimeout);
  }
  advance();
}

void ResponseContext::shutdown() {
  abandonPending();
  if (!finalSent_) {
    finalSent_ = true;
    nta_incoming_treply(irq_, SIP_500_INTERNAL_SERVER_ERROR, TAG_END());
  }
  done_ = true;
  if (depth_ == 0) destroy();
}

// ---------------------------------------------------------------------------
// The hunt: groups of targets, one after another

// The only place the context moves on. Not re-entered: a response that
// arrives while it launches branches (nta answers a transport error at once)
// makes it look again when it is through.
void ResponseContext::advance() {
  if (advancing_) {
    again_ = true;
    return;
  }
  advancing_ = true;
  do {
    again_ = false;
    step();
  } while (again_ && !done_);
  advancing_ = false;
}

void ResponseContext::step() {
  if (finalSent_) {
    done_ = true;
    return;
  }
  if (anyPending()) return;
  if (nextGroup_ < groups_.size()) {
    launchNextGroup();
    again_ = true;  // all of its branches may have failed already
    return;
  }
  huntOver();
  again_ = !finalSent_;  // a forwarding added a group
}

void ResponseContext::launchNextGroup() {
  stopTimer(ringTimer_);
  TargetGroup group = std::move(groups_[nextGroup_++]);
  std::vector<Target> targets = std::move(group.targets);
  for (const auto& member : group.members) {
    for (Target& t : proxy_.resolve(member, true))
      targets.push_back(std::move(t));
  }
  std::size_t launched = 0;
  for (const Target& t : targets) {
    if (branches_.size() >= kMaxBranches) break;
    if (!tried_.insert(t.key()).second) continue;  // the same place twice: once
    if (launch(t)) ++launched;
  }
  // The group's ring time; when it runs out, the hunt moves on.
  if (launched && rule_ && rule_->ring.count() > 0)
    ringTimer_ = startTimer(rule_->ring, &ResponseContext::onRingTimeout);
}

// 16.6 "Request Forwarding" for one target.
bool ResponseContext::launch(const Target& target) {
  launchedAny_ = true;
  auto owned = std::make_unique<Branch>();
  Branch* b = owned.get();
  b->ctx = this;
  b->target = target;
  branches_.push_back(std::move(owned));
  return target.wake ? wake(*b) : send(*b);
}

bool ResponseContext::send(Branch& to) {
  Branch* b = &to;
  const Target& target = to.target;
  auto fail = [&](int status, const char* phrase) {
    b->status = status;
    b->phrase = phrase ? phrase : "";
    spdlog::debug("proxy: branch to {} not sent: {} {}", target.uri, status, phrase);
    return false;
  };

  // Step 6, "Postprocess routing", the way out: a device's own flow (its
  // connection; for UDP, the address its REGISTER came from, never the
  // private address in its Contact), else the first Route, else the
  // Request-URI (nta's choice).
  std::string hop;
  tport_t* tport = nullptr;
  const auto* flow = dynamic_cast<const SipFlow*>(target.flow.get());
  if (!target.flowAddress.empty() && target.flowAddress.transport == Transport::Udp) {
    hop = "sip:" + hostPort(target.flowAddress) + ";transport=udp";
    if (flow) tport = flow->transport();  // from the socket the device used
  } else if (!target.flowAddress.empty()) {
    tport = flow ? flow->connection() : proxy_.connectionTo(target.flowAddress);
    if (!tport || tport_is_closed(tport)) return fail(430, "Flow Failed");
  }
  msg_t* msg = proxy_.branchRequest(request_, target, rr_);
  if (!msg) return fail(SIP_500_INTERNAL_SERVER_ERROR);
  // Steps 7-10: nta adds our Via (with this branch id, whose first part is
  // the loop hash), Content-Length, sends, and runs Timer C.
  const std::string branch = proxy_.branchId(loopHash_);
  // nta's outgoing magic type is the NOTIFY sender's (sofia.h): the branch
  // passes through it and comes back unchanged in onBranchResponse().
  nta_outgoing_t* orq = nta_outgoing_mcreate(
      proxy_.agent(), &ResponseContext::onBranchResponse, reinterpret_cast<PendingNotify*>(b),
      hop.empty() ? nullptr : URL_STRING_MAKE(hop.c_str()), msg, NTATAG_BRANCH_KEY(branch.c_str()),
      TAG_IF(tport, NTATAG_TPORT(tport)), TAG_END());
  if (!orq) {
    msg_destroy(msg);
    return fail(503, "Service Unavailable (cannot send)");
  }
  b->orq = orq;
  return true;
}

// RFC 8599 4.2.2: a callee without a live flow is pushed, and its branch
// waits for it to register again (the caller meanwhile has nta's 100
// Trying: nothing rings yet, so no 180). Not registered in time, or the
// push failed: the branch ends 480, as a device that is not there.
bool ResponseContext::wake(Branch& b) {
  Wakeups* wakeups = proxy_.core().wakeups();
  const Binding* binding = proxy_.core().bindings().get(b.target.wake);
  if (!wakeups || !binding) {
    b.status = 480;
    b.phrase = "Temporarily Unavailable";
    return false;
  }
  sip_t const* sip = sip_object(request_);
  PushRequest push;
  push.reason = PushReason::Call;
  push.method = sip->sip_request->rq_method_name;
  push.callId = sip->sip_call_id->i_id;
  push.from = urlString(sip->sip_from->a_url);
  b.waking = true;
  b.wakeId = wakeups->wake(
      *binding, std::move(push), [this, branch = &b](const WakeOutcome& o) { onWake(*branch, o); },
      invite_ ? std::nullopt : std::optional(kNonInviteWakeWait));
  return b.waking;  // false: refused at once (onWake has run)
}

void ResponseContext::onWake(Branch& b, const WakeOutcome& o) {
  Entry entry(this);
  if (!b.waking || b.abandoned || o.stage == WakeOutcome::Stage::Pushed) return;
  b.waking = false;
  b.wakeId = 0;
  const Binding* now = o.stage == WakeOutcome::Stage::Registered
                           ? proxy_.core().bindings().get(o.bindingId)
                           : nullptr;
  if (now) {
    // Over the flow it has just registered on.
    b.target = targetOf(*now, nullptr);
    send(b);
  } else {
    b.status = 480;
    b.phrase = "Temporarily Unavailable";
    spdlog::info(
        "proxy: {} to {}: the pushed device did not register ({})",
        sip_object(request_)->sip_request->rq_method_name, b.target.uri,
        o.stage == WakeOutcome::Stage::Failed ? "push failed: " + o.detail : "not within the wait");
  }
  advance();
}

// ---------------------------------------------------------------------------
// 16.7 Response Processing

template <class F>
void ResponseContext::guard(ResponseContext* c, Boundary where, F&& f, sip_t const* sip) {
  Entry entry(c);
  const bool ok = guarded(where, std::forward<F>(f),
                          [&] { return logKeys(sip ? sip : sip_object(c->request_)); });
  if (!ok) guarded(where, [c] { c->shutdown(); });
}

int ResponseContext::onBranchResponse(PendingNotify* magic, nta_outgoing_t* orq, sip_t const* sip) {
  auto* b = reinterpret_cast<Branch*>(magic);
  ResponseContext* c = b->ctx;
  guard(
      c, Boundary::SipResponse,
      [&] {
        if (!b->orq) b->orq = orq;  // answered before nta_outgoing_mcreate() returned
        c->onResponse(*b, orq, nta_outgoing_status(orq), sip);
      },
      sip);
  return 0;
}

void ResponseContext::onResponse(Branch& b, nta_outgoing_t* orq, int status, sip_t const* sip) {
  if (b.abandoned) return;
  const char* phrase = sip && sip->sip_status ? sip->sip_status->st_phrase : nullptr;
  // Step 5, "Check response for forwarding": provisional responses go on at
  // once (not 100: it is hop by hop)...
  if (status < 200) {
    b.status = std::max(b.status, status);
    if (!finalSent_ && status > 100) relay(orq);
    return;
  }
  b.status = status;
  b.phrase = phrase ? phrase : "";
  // ...and "any 2xx response to an INVITE" at once, every one of them: each
  // is a dialog of its own at the caller. The first ends the hunt: the
  // other branches are CANCELled (16.7 step 10).
  if (status < 300) {
    // A dialog we stay on (Record-Route): its connections are held while
    // it lives, the caller's and the one the 2xx came over.
    if (invite_ && rr_.on) {
      DialogConnections& held = proxy_.dialogConnections();
      if (rr_.caller.transport != Transport::Udp) held.hold(sip, proxy_.connectionTo(rr_.caller));
      if (msg_t* response = nta_outgoing_getresponse(orq)) {
        held.hold(sip, sourceOf(proxy_.agent(), response).connection);
        msg_destroy(response);
      }
    }
    relay(orq);
    if (!finalSent_) {
      finalSent_ = true;
      spdlog::debug("proxy: {} answered {} by {}", invite_ ? "INVITE" : "request", status,
                    b.target.uri);
      for (auto& other : branches_) {
        if (other.get() != &b) abandon(*other);
      }
      stopTimer(ringTimer_);
      stopTimer(noAnswerTimer_);
    }
    advance();
    return;
  }
  // Step 4, "Recursion": a 3xx's Contacts become targets, when configured.
  if (status < 400 && proxy_.config().followRedirects && recurse(b, sip)) {
    advance();
    return;
  }
  // Step 3, "Remove the topmost Via" happens when a response is relayed;
  // step 6: the final response is kept until the best one is chosen. nta's
  // own answers (timeouts, transport errors) are not messages to relay.
  msg_t* response = nta_outgoing_getresponse(orq);
  if (response && nta_msg_is_internal(response)) {
    msg_destroy(response);
    response = nullptr;
  }
  if (b.response) msg_destroy(b.response);
  b.response = response;
  // A 6xx ends the hunt: "the proxy SHOULD NOT fork the request further,
  // and SHOULD cancel any pending client transactions" (16.7 step 5).
  if (status >= 600) {
    abandonPending();
    nextGroup_ = groups_.size();
    stopTimer(ringTimer_);
    stopTimer(noAnswerTimer_);
  }
  advance();
}

// 16.5: "If a proxy receives a 3xx ... it MAY ... add the contacts to the
// target set" (recursion), at most kMaxRedirects times per request.
bool ResponseContext::recurse(Branch& b, sip_t const* sip) {
  if (!sip || redirects_ >= kMaxRedirects) return false;
  ++redirects_;
  std::size_t added = 0;
  for (sip_contact_t const* m = sip->sip_contact; m && added < 8; m = m->m_next) {
    if (m->m_url->url_type != url_sip && m->m_url->url_type != url_sips) continue;
    for (const Target& t : proxy_.resolve(urlString(m->m_url), false)) {
      if (branches_.size() >= kMaxBranches) break;
      if (!tried_.insert(t.key()).second) continue;
      if (launch(t)) ++added;
    }
  }
  if (!added) return false;
  spdlog::debug("proxy: {} from {}: {} new target(s)", b.status, b.target.uri, added);
  b.superseded = true;
  return true;
}

// 16.7 step 3: "The proxy removes the topmost Via header field value from
// the response"; step 9, "Forward response", through the server
// transaction. A response without a Via below ours is not the caller's: it
// is dropped (nta would take it for a failed final response).
bool ResponseContext::relay(msg_t* response) {
  sip_t* sip = sip_object(response);
  if (!sip || !sip->sip_via || !sip->sip_via->v_next) {
    msg_destroy(response);
    return false;
  }
  sip_via_remove(response, sip);
  nta_incoming_mreply(irq_, response);
  return true;
}

void ResponseContext::relay(nta_outgoing_t* orq) {
  if (msg_t* response = nta_outgoing_getresponse(orq)) relay(response);
}

// Nothing rings any more and no group is left: the hunt is over. Forward
// on busy, on no answer, on not registered (once), else answer.
void ResponseContext::huntOver() {
  stopTimer(ringTimer_);
  std::vector<int> statuses;
  std::vector<Branch*> from;
  for (auto& b : branches_) {
    if (b->candidate()) {
      statuses.push_back(b->status);
      from.push_back(b.get());
    }
  }
  const std::size_t best = statuses.empty() ? 0 : bestResponse(statuses);
  if (rule_ && !forwarded_) {
    const bool busy = !statuses.empty() && isBusy(statuses[best]);
    const bool noAnswer =
        noAnswerExpired_ || statuses.empty() || isNoAnswer(statuses[best]) || ringExpired_;
    if (!launchedAny_) {
      if (!rule_->voicemail.empty()) return forwardTo(rule_->voicemail, "not registered");
    } else if (busy && !rule_->voicemail.empty()) {
      return forwardTo(rule_->voicemail, "busy");
    } else if (!busy && noAnswer) {
      if (!rule_->forwardTo.empty()) return forwardTo(rule_->forwardTo, "no answer");
      if (!rule_->voicemail.empty()) return forwardTo(rule_->voicemail, "no answer");
    }
  }
  if (statuses.empty()) {
    // Nobody answered anything we did not cancel ourselves: the callee did
    // not answer (or, without any target left, is not there).
    return sendFinal(480, "Temporarily Unavailable", nullptr);
  }
  Branch* b = from[best];
  // 16.7 step 6: a 503 chosen as best becomes 500: the caller must not
  // take this proxy for unavailable.
  if (statuses[best] == 503) return sendFinal(SIP_500_INTERNAL_SERVER_ERROR, nullptr);
  sendFinal(statuses[best], b->phrase.empty() ? nullptr : b->phrase.c_str(), b);
}

void ResponseContext::forwardTo(const std::string& uri, const char* why) {
  forwarded_ = true;
  spdlog::info("proxy: call to {} {}: forwarded to {}", rule_ ? rule_->aor : "?", why, uri);
  for (auto& b : branches_)
    b->superseded = true;
  // The forwarded call is tried once, as long as it takes (no more ring time).
  stopTimer(noAnswerTimer_);
  rule_ = nullptr;
  groups_.push_back(TargetGroup{{}, {uri}});
}

void ResponseContext::sendFinal(int status, const char* phrase, Branch* from) {
  finalSent_ = true;
  if (from && from->response) {
    msg_t* response = from->response;
    from->response = nullptr;
    if (relay(response)) return;
  }
  nta_incoming_treply(irq_, status, phrase, SIPTAG_SERVER_STR("beckon/" BECKON_VERSION), TAG_END());
}

// ---------------------------------------------------------------------------
// 16.10 CANCEL Processing, and the timers

int ResponseContext::onCancel(ResponseContext* c, nta_incoming_t*, sip_t const* sip) {
  if (!sip || sip->sip_request->rq_method != sip_method_cancel) return 0;
  guard(
      c, Boundary::SipRequest, [c] { c->cancel(); }, sip);
  return 0;
}

void ResponseContext::cancel() {
  if (finalSent_) return;
  // nta has answered the CANCEL 200. "...the element MUST generate CANCEL
  // requests for all pending client transactions in the context"; the
  // INVITE's answer is 487.
  abandonPending();
  nextGroup_ = groups_.size();
  stopTimer(ringTimer_);
  stopTimer(noAnswerTimer_);
  sendFinal(SIP_487_REQUEST_CANCELLED, nullptr);
  done_ = true;
}

void ResponseContext::onRingTimeout(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
  auto* c = static_cast<ResponseContext*>(arg);
  guard(c, Boundary::SipTimer, [c] {
    c->stopTimer(c->ringTimer_);
    c->ringExpired_ = true;
    c->abandonPending();  // the next group rings next
    c->advance();
  });
}

void ResponseContext::onNoAnswerTimeout(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
  auto* c = static_cast<ResponseContext*>(arg);
  guard(c, Boundary::SipTimer, [c] {
    c->stopTimer(c->noAnswerTimer_);
    c->noAnswerExpired_ = true;
    c->abandonPending();
    c->nextGroup_ = c->groups_.size();  // no more hunting: forward
    c->advance();
  });
}

void ResponseContext::abandon(Branch& b) {
  if (!b.pending()) return;
  b.abandoned = true;
  if (b.waking) {
    if (Wakeups* wakeups = proxy_.core().wakeups()) wakeups->cancel(b.wakeId);
    b.waking = false;
  }
  if (!b.orq) return;
  // nta sends the CANCEL once the branch has had a provisional response,
  // and acknowledges its 487. A 2xx that crosses the CANCEL still reaches
  // the caller: the destroyed transaction hands it to the stateless path.
  if (invite_) nta_outgoing_tcancel(b.orq, nullptr, nullptr, TAG_END());
  nta_outgoing_destroy(b.orq);
  b.orq = nullptr;
}

void ResponseContext::abandonPending() {
  for (auto& b : branches_)
    abandon(*b);
}

bool ResponseContext::anyPending() const {
  return std::any_of(branches_.begin(), branches_.end(),
                     [](const auto& b) { return b->pending() && (b->orq || b->waking); });
}

su_timer_t* ResponseContext::startTimer(std::chrono::milliseconds after, su_timer_f f) {
  su_timer_t* t = su_timer_create(su_root_task(proxy_.root()), after.count());
  if (t && su_timer_set(t, f, this) < 0) {
    su_timer_destroy(t);
    t = nullptr;
  }
  if (!t) spdlog::error("proxy: cannot start a timer");
  return t;
}

void ResponseContext::stopTimer(su_timer_t*& t) {
  if (t) su_timer_destroy(t);
  t = nullptr;
}

void ResponseContext::destroy() {
  stopTimer(ringTimer_);
  stopTimer(noAnswerTimer_);
  for (auto& b : branches_) {
    abandon(*b);
    if (b->orq) nta_outgoing_destroy(b->orq);  // answered: its late 2xx go statelessly
    b->orq = nullptr;
    if (b->response) msg_destroy(b->response);
  }
  nta_incoming_destroy(irq_);
  msg_destroy(request_);
  proxy_.forget(this);
  delete this;
}

}  // namespace beckon::sip
