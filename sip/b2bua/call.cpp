// One B2BUA call (call.h): the caller's INVITE forked to the callee's
// targets on a dialog of beckond's own, and everything after it relayed
// between the two dialogs.
#include "call.h"
#include "call_parts.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_set>

#include "boundary.h"
#include "device_id.h"
#include "metrics.h"

namespace beckon::sip::b2bua {

namespace detail {

std::string unknownHeaders(sip_t const* sip) {
  std::string out;
  for (sip_unknown_t const* u = sip ? sip->sip_unknown : nullptr; u; u = u->un_next) {
    if (!u->un_name || !u->un_value) continue;
    if (!out.empty()) out += "\r\n";
    out += std::string(u->un_name) + ": " + u->un_value;
  }
  return out;
}

Call::Body bodyOf(sip_t const* sip) {
  Call::Body b;
  if (!sip || !sip->sip_payload || !sip->sip_content_type || !sip->sip_content_type->c_type)
    return b;
  b.type = sip->sip_content_type->c_type;
  b.bytes.assign(sip->sip_payload->pl_data, sip->sip_payload->pl_len);
  return b;
}

}  // namespace detail

using namespace detail;

Call::Call(B2bua& owner, std::uint64_t id) : owner_(owner), id_(id) {}

Call::~Call() {
  for (auto& r : relays_) {
    if (r->orq) nta_outgoing_destroy(r->orq);
    if (r->irq) nta_incoming_destroy(r->irq);  // 500 when it had no final answer
  }
  for (auto& b : branches_) {
    if (!b->orq) continue;
    if (b->pending()) nta_outgoing_tcancel(b->orq, nullptr, nullptr, TAG_END());
    nta_outgoing_destroy(b->orq);
  }
  if (invite_) {
    nta_incoming_treply(invite_, SIP_500_INTERNAL_SERVER_ERROR, SIPTAG_SERVER_STR(kServer),
                        TAG_END());
    nta_incoming_destroy(invite_);
  }
  if (offer_) msg_destroy(offer_);
  for (Side& s : sides_) {
    if (s.leg) nta_leg_destroy(s.leg);
    if (s.held) tport_unref(s.held);
  }
  if (counted_) {
    if (Metrics* m = owner_.metrics()) m->b2buaCallDown();
  }
}

template <class F>
void Call::guard(Call* c, Boundary where, F&& f, sip_t const* sip) {
  const bool ok = guarded(where, std::forward<F>(f),
                          [&] { return logKeys(sip) + " b2bua_call=" + std::to_string(c->id_); });
  if (!ok) guarded(where, [c] { c->shutdown(); });
}

// ---------------------------------------------------------------------------
// The caller's INVITE

void Call::start(msg_t* msg, sip_t* sip, const Source& source, std::vector<TargetGroup> groups) {
  nta_agent_t* agent = owner_.agent();
  groups_ = std::move(groups);
  sipCallId_ = sip->sip_call_id->i_id;
  if (sip->sip_max_forwards && sip->sip_max_forwards->mf_count > 0)
    maxForwards_ = std::min<unsigned>(sip->sip_max_forwards->mf_count - 1, 70);

  Side& a = sides_[kCaller];
  a.flow = {source.transport, source.host, source.port};
  if (source.transport == Transport::Udp) a.udpSocket = source.tport;
  if (source.connection && !tport_is_closed(source.connection))
    a.held = tport_ref(source.connection);
  a.contact = owner_.proxy().ourUri("b2bua", source.transport, isV6(source.host));
  // Side A: beckond is the UAS of the caller's dialog (local: its To,
  // remote: its From), with a tag of ours.
  a.leg = nta_leg_tcreate(agent, &Call::onLegRequest, reinterpret_cast<SipServer*>(this),
                          SIPTAG_CALL_ID(sip->sip_call_id), SIPTAG_FROM(sip->sip_to),
                          SIPTAG_TO(sip->sip_from), NTATAG_REMOTE_CSEQ(sip->sip_cseq->cs_seq),
                          TAG_END());
  if (!a.leg || !nta_leg_tag(a.leg, nullptr) ||
      nta_leg_server_route(a.leg, sip->sip_record_route, sip->sip_contact) < 0) {
    nta_msg_treply(agent, msg, SIP_500_INTERNAL_SERVER_ERROR, SIPTAG_SERVER_STR(kServer),
                   TAG_END());
    return finish();
  }
  invite_ = nta_incoming_create(agent, a.leg, msg, sip, TAG_END());
  if (!invite_) return finish();
  nta_incoming_bind(invite_, &Call::onCancel, reinterpret_cast<ResponseContext*>(this));
  offer_ = nta_incoming_getrequest(invite_);

  sdp_[kCaller] = bodyOf(sip);
  calleeAor_ =
      normaliseAor(urlString(sip->sip_request->rq_url)).value_or(urlString(sip->sip_to->a_url));
  if (!newCalleeLeg()) return failCaller(SIP_500_INTERNAL_SERVER_ERROR);
  spdlog::debug("b2bua: call {} from {} (call_id {}): {} group(s)", id_, source.hostPort(),
                sipCallId_, groups_.size());
  launchNextGroup();
}

// Side B: beckond is the UAC of a dialog of its own toward the callee: a
// new Call-ID (nta draws it) and From tag, the caller's identity.
bool Call::newCalleeLeg() {
  sip_t const* sip = sip_object(offer_);
  Home home;
  sip_from_t* from =
      sip_from_create(home.get(), reinterpret_cast<url_string_t const*>(sip->sip_from->a_url));
  sip_to_t* to =
      sip_to_create(home.get(), reinterpret_cast<url_string_t const*>(sip->sip_to->a_url));
  if (!from || !to) return false;
  from->a_display = sip->sip_from->a_display;
  to->a_display = sip->sip_to->a_display;
  Side& b = sides_[kCallee];
  if (b.leg) nta_leg_destroy(b.leg);
  b = Side{};
  b.leg = nta_leg_tcreate(owner_.agent(), &Call::onLegRequest, reinterpret_cast<SipServer*>(this),
                          SIPTAG_FROM(from), SIPTAG_TO(to), TAG_END());
  return b.leg && nta_leg_tag(b.leg, nullptr);
}

void Call::launchNextGroup() {
  while (!done_ && state_ == State::Calling && nextGroup_ < groups_.size()) {
    TargetGroup group = std::move(groups_[nextGroup_++]);
    std::vector<Target> targets = std::move(group.targets);
    for (const auto& member : group.members) {
      for (Target& t : owner_.proxy().resolve(member, true))
        targets.push_back(std::move(t));
    }
    launching_ = true;
    for (Target& t : targets) {
      Branch* br = addBranch(std::move(t));
      if (!br) continue;
      send(*br);
      if (state_ != State::Calling) break;  // answered at once, or failed the call
    }
    launching_ = false;
    if (done_ || state_ != State::Calling) return;
    if (std::any_of(branches_.begin(), branches_.end(),
                    [](const auto& b) { return b->pending() && b->orq; })) {
      return;
    }
  }
  if (!done_ && state_ == State::Calling) huntOver();
}

// 16.6 step 6 as the proxy does it: over the binding's flow (its
// connection; for UDP the address its REGISTER came from), never to the
// private address in its Contact.
void Call::send(Branch& b) {
  const Target& target = b.target;
  const FlowAddress& fa = target.flowAddress;
  auto fail = [&](int status, const char* phrase) {
    b.status = status;
    b.phrase = phrase;
  };
  std::string hop;
  tport_t* tport = nullptr;
  const auto* flow = dynamic_cast<const SipFlow*>(target.flow.get());
  if (!fa.empty() && fa.transport == Transport::Udp) {
    hop = "sip:" + hostPort(fa) + ";transport=udp";
    if (flow) tport = flow->transport();
  } else if (!fa.empty()) {
    tport = flow ? flow->connection() : owner_.proxy().connectionTo(fa);
    if (!tport || tport_is_closed(tport)) return fail(430, "Flow Failed");
  }
  const Transport out = fa.empty() ? Transport::Udp : fa.transport;
  b.contact = owner_.proxy().ourUri("b2bua", out, !fa.empty() && isV6(fa.host));
  std::string path;
  for (const auto& hopUri : target.path)
    path += (path.empty() ? "" : ", ") + hopUri;
  sip_t const* offer = sip_object(offer_);
  const std::string extra = unknownHeaders(offer);
  Home home;
  const Body& sdp = sdp_[kCaller];
  const std::string maxForwards = std::to_string(maxForwards_);
  const std::string uri = target.uri.empty() ? urlString(offer->sip_request->rq_url) : target.uri;
  // RFC 4028 7.1: the interval we ask, refreshed by us.
  const auto asked = owner_.config().sessionExpires.count();
  const std::string se = std::to_string(asked) + ";refresher=uac";
  nta_outgoing_t* orq = nta_outgoing_tcreate(
      sides_[kCallee].leg, &Call::onBranchResponse, reinterpret_cast<PendingNotify*>(&b),
      hop.empty() ? nullptr : URL_STRING_MAKE(hop.c_str()), SIP_METHOD_INVITE,
      URL_STRING_MAKE(uri.c_str()), SIPTAG_CONTACT_STR(b.contact.c_str()),
      SIPTAG_MAX_FORWARDS_STR(maxForwards.c_str()), SIPTAG_ALLOW_STR(kAllow),
      TAG_IF(asked > 0, SIPTAG_SUPPORTED_STR("timer")),
      TAG_IF(asked > 0, SIPTAG_SESSION_EXPIRES_STR(se.c_str())),
      TAG_IF(asked > 0, SIPTAG_MIN_SE_STR("90")),
      TAG_IF(!path.empty(), SIPTAG_ROUTE_STR(path.c_str())),
      TAG_IF(offer->sip_subject, SIPTAG_SUBJECT(offer->sip_subject)),
      TAG_IF(!sdp.type.empty(), SIPTAG_CONTENT_TYPE_STR(sdp.type.c_str())),
      TAG_IF(!extra.empty(), SIPTAG_HEADER_STR(extra.c_str())),
      TAG_IF(!sdp.type.empty(), SIPTAG_PAYLOAD(payloadOf(home.get(), sdp.bytes))),
      TAG_IF(tport, NTATAG_TPORT(tport)), TAG_END());
  if (!orq) return fail(SIP_500_INTERNAL_SERVER_ERROR);
  if (!b.orq && b.pending()) b.orq = orq;
}

int Call::onBranchResponse(PendingNotify* magic, nta_outgoing_t* orq, sip_t const* sip) {
  auto* b = reinterpret_cast<Branch*>(magic);
  Call* c = b->call;
  guard(
      c, Boundary::SipResponse, [&] { c->onBranch(*b, orq, sip); }, sip);
  return 0;
}

void Call::onBranch(Branch& b, nta_outgoing_t* orq, sip_t const* sip) {
  if (!b.orq) b.orq = orq;  // answered before nta_outgoing_tcreate() returned
  const int status = nta_outgoing_status(orq);
  const bool settingUp = state_ == State::Calling || state_ == State::Rebuilding;
  if (done_ || !settingUp || !b.pending()) {
    // A 2xx of another fork after the call was answered: its dialog is
    // acknowledged and ended at once (RFC 3261 13.2.2.4).
    if (status >= 200 && status < 300 && !done_ && sip && sip->sip_to && sip->sip_to->a_tag &&
        sides_[kCallee].leg && !b.pending()) {
      spdlog::debug("b2bua: call {}: a second 2xx ({}), not taken", id_, status);
    }
    if (status >= 200 && b.orq) {
      nta_outgoing_destroy(b.orq);
      b.orq = nullptr;
    }
    return;
  }
  if (status < 200) {
    // 18x, early media included: relayed with its body (RFC 3960).
    if (status > 100 && invite_ && state_ == State::Calling) {
      nta_incoming_treply(
          invite_, status, phraseOf(sip), SIPTAG_CONTACT_STR(sides_[kCaller].contact.c_str()),
          TAG_IF(sip && sip->sip_content_type, SIPTAG_CONTENT_TYPE(sip->sip_content_type)),
          TAG_IF(sip && sip->sip_payload, SIPTAG_PAYLOAD(sip->sip_payload)),
          SIPTAG_SERVER_STR(kServer), TAG_END());
    }
    return;
  }
  if (status < 300) return state_ == State::Rebuilding ? rebuilt(b, sip) : answered(b, sip);
  b.status = status;
  b.phrase = phraseOf(sip);
  nta_outgoing_destroy(b.orq);
  b.orq = nullptr;
  if (state_ == State::Rebuilding) return;  // the next tick tries what registers
  spdlog::debug("b2bua: call {}: branch to {} answered {}", id_, b.target.uri, status);
  if (status >= 600) {  // "a 6xx ends the hunt"
    cancelBranches();
    nextGroup_ = groups_.size();
  }
  if (launching_) return;  // launchNextGroup() looks when it is through
  if (std::none_of(branches_.begin(), branches_.end(),
                   [](const auto& x) { return x->pending() && x->orq; })) {
    launchNextGroup();
  }
}

void Call::answered(Branch& b, sip_t const* sip) {
  takeCallee(b, sip);
  bool require = false;
  const std::string se = timerForCaller(require);
  nta_incoming_treply(invite_, b.status, phraseOf(sip),
                      SIPTAG_CONTACT_STR(sides_[kCaller].contact.c_str()), SIPTAG_ALLOW_STR(kAllow),
                      TAG_IF(!se.empty(), SIPTAG_SESSION_EXPIRES_STR(se.c_str())),
                      TAG_IF(!se.empty() && require, SIPTAG_REQUIRE_STR("timer")),
                      TAG_IF(sip->sip_content_type, SIPTAG_CONTENT_TYPE(sip->sip_content_type)),
                      TAG_IF(sip->sip_payload, SIPTAG_PAYLOAD(sip->sip_payload)),
                      SIPTAG_SERVER_STR(kServer), TAG_END());
  nta_incoming_destroy(invite_);
  invite_ = nullptr;
  // Last: the response (`sip`) goes with its transaction.
  nta_outgoing_destroy(b.orq);
  b.orq = nullptr;
  counted_ = true;
  if (Metrics* m = owner_.metrics()) m->b2buaCallUp();
  spdlog::debug("b2bua: call {} answered by {}", id_, b.target.uri);
}

// The answering branch's dialog becomes side B: ACKed, the other branches
// CANCELled.
void Call::takeCallee(Branch& b, sip_t const* sip) {
  Side& callee = sides_[kCallee];
  b.status = sip->sip_status->st_status;
  callee.flow = b.target.flowAddress;
  callee.owned = b.target.flow;
  if (const auto* flow = dynamic_cast<const SipFlow*>(b.target.flow.get());
      flow && callee.flow.transport == Transport::Udp) {
    callee.udpSocket = flow->transport();
  }
  callee.contact = b.contact;
  if (sip->sip_to && sip->sip_to->a_tag) nta_leg_rtag(callee.leg, sip->sip_to->a_tag);
  nta_leg_client_route(callee.leg, sip->sip_record_route, sip->sip_contact);
  state_ = State::Up;
  ack(kCallee, sip);
  b.status = std::max(b.status, 200);  // not pending: cancelBranches() leaves it
  cancelBranches();
  sdp_[kCallee] = bodyOf(sip);
  device_ = b.target.device;
  timerFromCallee(sip);
}

void Call::huntOver() {
  std::vector<int> statuses;
  std::vector<const Branch*> finals;
  for (const auto& b : branches_) {
    if (b->status >= 300) {
      statuses.push_back(b->status);
      finals.push_back(b.get());
    }
  }
  if (finals.empty()) return failCaller(480, "Temporarily Unavailable");
  const Branch* best = finals[bestResponse(statuses)];
  const std::string phrase = best->phrase;
  failCaller(best->status, phrase.c_str());
}

void Call::failCaller(int status, const char* phrase) {
  cancelBranches();
  if (invite_) {
    nta_incoming_treply(invite_, status, phrase, SIPTAG_SERVER_STR(kServer), TAG_END());
    nta_incoming_destroy(invite_);
    invite_ = nullptr;
  }
  finish();
}

void Call::cancelBranches() {
  for (auto& b : branches_) {
    if (!b->pending() || !b->orq) continue;
    b->status = 487;
    b->phrase = "Request Terminated";
    nta_outgoing_tcancel(b->orq, nullptr, nullptr, TAG_END());
    nta_outgoing_destroy(b->orq);
    b->orq = nullptr;
  }
}

int Call::onCancel(ResponseContext* magic, nta_incoming_t*, sip_t const* sip) {
  Call* c = reinterpret_cast<Call*>(magic);
  guard(
      c, Boundary::SipRequest,
      [&] {
        if (c->done_ || c->state_ != State::Calling) return;
        spdlog::debug("b2bua: call {} CANCELled by the caller", c->id_);
        c->failCaller(487, "Request Terminated");
      },
      sip);
  return 0;
}

// ---------------------------------------------------------------------------
// Inside the dialogs

int Call::onLegRequest(SipServer* magic, nta_leg_t* leg, nta_incoming_t* irq, sip_t const* sip) {
  Call* c = reinterpret_cast<Call*>(magic);
  int status = 500;
  guard(
      c, Boundary::SipRequest,
      [&] { status = c->onRequest(leg == c->sides_[kCaller].leg ? kCaller : kCallee, irq, sip); },
      sip);
  return status;
}

int Call::onRequest(int side, nta_incoming_t* irq, sip_t const* sip) {
  const sip_method_t method = sip->sip_request->rq_method;
  if (method == sip_method_ack) {
    // The ACK of a 2xx we relayed: the other side had its own at once.
    nta_incoming_destroy(irq);
    return 0;
  }
  if (done_ || state_ == State::Ending) return 481;
  if (method == sip_method_bye) {
    bye(side, sip);
    return 200;
  }
  if (state_ == State::Rebuilding && side == kCaller && method == sip_method_message) {
    held_.push_back(bodyOf(sip));  // delivered once the new leg is up
    return 202;
  }
  if (state_ != State::Up) return 491;  // an early dialog: nothing to relay yet
  return relay(side, irq, sip);
}

int Call::relay(int from, nta_incoming_t* irq, sip_t const* sip) {
  const int to = 1 - from;
  const sip_method_t method = sip->sip_request->rq_method;
  // RFC 3261 14.2 (and RFC 3311 5.2 for UPDATE): an offer while one is
  // pending, in either direction, gets 491.
  if (offers(method) &&
      std::any_of(relays_.begin(), relays_.end(), [](const auto& r) { return r->offer(); })) {
    return 491;
  }
  std::string hop;
  tport_t* tport = nullptr;
  // The callee's flow is gone: a new leg is made, a MESSAGE held for it.
  const auto calleeLost = [&] {
    rebuild("its connection is closed");
    if (method == sip_method_message) {
      held_.push_back(bodyOf(sip));
      return 202;
    }
    return 491;
  };
  if (!pathTo(to, hop, tport)) {
    if (to == kCaller) return 430;  // its flow is gone (RFC 5626 5.3)
    return calleeLost();
  }
  auto owned = std::make_unique<Relay>();
  Relay& r = *owned;
  r.call = this;
  r.from = from;
  r.irq = irq;
  r.method = method;
  r.body = bodyOf(sip);
  if (offers(method) && sip->sip_session_expires) {
    timerFromRequest(from, sip);
    r.sessionExpires = sessionExpires(from, false);
  }
  const std::string se = offers(method) ? sessionExpires(to, true) : "";
  relays_.push_back(std::move(owned));
  const std::string extra = unknownHeaders(sip);
  const std::string maxForwards =
      std::to_string(sip->sip_max_forwards && sip->sip_max_forwards->mf_count > 0
                         ? std::min<unsigned long>(sip->sip_max_forwards->mf_count - 1, 70)
                         : 70);
  nta_outgoing_t* orq = nta_outgoing_tcreate(
      sides_[to].leg, &Call::onRelayResponse, reinterpret_cast<PendingNotify*>(&r),
      hop.empty() ? nullptr : URL_STRING_MAKE(hop.c_str()), method,
      sip->sip_request->rq_method_name, nullptr,
      TAG_IF(offers(method), SIPTAG_CONTACT_STR(sides_[to].contact.c_str())),
      TAG_IF(!se.empty(), SIPTAG_SUPPORTED_STR("timer")),
      TAG_IF(!se.empty(), SIPTAG_SESSION_EXPIRES_STR(se.c_str())),
      SIPTAG_MAX_FORWARDS_STR(maxForwards.c_str()),
      TAG_IF(sip->sip_subject, SIPTAG_SUBJECT(sip->sip_subject)),
      TAG_IF(sip->sip_event, SIPTAG_EVENT(sip->sip_event)),
      TAG_IF(sip->sip_content_type, SIPTAG_CONTENT_TYPE(sip->sip_content_type)),
      TAG_IF(sip->sip_content_disposition,
             SIPTAG_CONTENT_DISPOSITION(sip->sip_content_disposition)),
      TAG_IF(!extra.empty(), SIPTAG_HEADER_STR(extra.c_str())),
      TAG_IF(sip->sip_payload, SIPTAG_PAYLOAD(sip->sip_payload)),
      TAG_IF(tport, NTATAG_TPORT(tport)), TAG_END());
  if (!adopt(r, orq)) {  // `r` is gone; the status returned answers the request
    // Its connection is closing under us (nta could not send on it): lost
    // as above, not an error of ours.
    if (to == kCallee && tport && !tport_is_dgram(tport)) return calleeLost();
    return 500;
  }
  return 0;
}

Call::Branch* Call::addBranch(Target t) {
  if (branches_.size() >= 32 || !tried_.insert(t.key()).second) return nullptr;
  auto owned = std::make_unique<Branch>();
  owned->call = this;
  owned->target = std::move(t);
  branches_.push_back(std::move(owned));
  return branches_.back().get();
}

bool Call::adopt(Relay& r, nta_outgoing_t* orq) {
  const auto mine = [&](const auto& x) { return x.get() == &r; };
  if (!orq) {
    relays_.remove_if(mine);
    return false;
  }
  // A transport error may have answered it already (onRelay took it).
  if (std::any_of(relays_.begin(), relays_.end(), mine) && !r.orq) r.orq = orq;
  return true;
}

int Call::onRelayResponse(PendingNotify* magic, nta_outgoing_t* orq, sip_t const* sip) {
  auto* r = reinterpret_cast<Relay*>(magic);
  Call* c = r->call;
  guard(
      c, Boundary::SipResponse, [&] { c->onRelay(*r, orq, sip); }, sip);
  return 0;
}

void Call::onRelay(Relay& r, nta_outgoing_t* orq, sip_t const* sip) {
  const int status = nta_outgoing_status(orq);
  if (done_) return;
  if (status < 200) {
    if (status > 100 && r.irq) {
      nta_incoming_treply(
          r.irq, status, phraseOf(sip),
          TAG_IF(sip && sip->sip_content_type, SIPTAG_CONTENT_TYPE(sip->sip_content_type)),
          TAG_IF(sip && sip->sip_payload, SIPTAG_PAYLOAD(sip->sip_payload)), TAG_END());
    }
    return;
  }
  const int to = 1 - r.from;
  // The callee's flow is lost: the call goes on while a new leg is made.
  const bool lost =
      to == kCallee && flowLost(status) && (state_ == State::Up || state_ == State::Rebuilding);
  if (lost && r.method == sip_method_message && r.irq) {
    held_.push_front(r.body);  // sent before those that come while rebuilding
    nta_incoming_treply(r.irq, 202, "Accepted", SIPTAG_SERVER_STR(kServer), TAG_END());
    nta_incoming_destroy(r.irq);
    r.irq = nullptr;
  }
  if (r.method == sip_method_invite && status < 300 && sip) ack(to, sip);
  if (r.refresh) sides_[to].refreshing = false;
  if (offers(r.method) && status < 300) {
    sessionRefreshed(r.from);
    sessionRefreshed(to);
    if (!r.body.type.empty()) sdp_[r.from] = r.body;
    if (Body answer = bodyOf(sip); !answer.type.empty()) sdp_[to] = answer;
  }
  const std::string extra = unknownHeaders(sip);
  if (r.irq) {
    nta_incoming_treply(
        r.irq, status, phraseOf(sip),
        TAG_IF(offers(r.method) && status < 300,
               SIPTAG_CONTACT_STR(sides_[r.from].contact.c_str())),
        TAG_IF(!r.sessionExpires.empty() && status < 300,
               SIPTAG_SESSION_EXPIRES_STR(r.sessionExpires.c_str())),
        TAG_IF(!r.sessionExpires.empty() && status < 300, SIPTAG_REQUIRE_STR("timer")),
        TAG_IF(sip && sip->sip_content_type, SIPTAG_CONTENT_TYPE(sip->sip_content_type)),
        TAG_IF(!extra.empty(), SIPTAG_HEADER_STR(extra.c_str())),
        TAG_IF(sip && sip->sip_payload, SIPTAG_PAYLOAD(sip->sip_payload)),
        SIPTAG_SERVER_STR(kServer), TAG_END());
    nta_incoming_destroy(r.irq);
    r.irq = nullptr;
  }
  nta_outgoing_destroy(orq);
  r.orq = nullptr;
  const sip_method_t method = r.method;
  const bool held = r.held;
  // A refresh by UPDATE the leg does not take: by re-INVITE then.
  const bool again = r.refresh && method == sip_method_update && (status == 405 || status == 501);
  relays_.remove_if([&](const auto& x) { return x.get() == &r; });
  if (lost) {
    if (held) delivering_ = false;  // stays first in held_: tried again on the new leg
    return rebuild("a request to it failed");
  }
  if (held) {
    held_.pop_front();
    delivering_ = false;
    return deliverHeld();
  }
  if (again) return refresh(to, sip_method_invite);
  // The other dialog is gone (RFC 3261 12.2.1.2: 481 or 408 ends it): so
  // is this one.
  if (status == 481 || (status == 408 && method != sip_method_message)) {
    spdlog::info("b2bua: call {}: {} answered {} on the other leg: the call ends", id_,
                 sip_method_name(method, "?"), status);
    sendBye(r.from, "SIP ;cause=408 ;text=\"the other party's dialog is gone\"");
    finish();
  }
}

void Call::bye(int from, sip_t const*) {
  spdlog::debug("b2bua: call {}: BYE from the {}", id_, from == kCaller ? "caller" : "callee");
  if (state_ == State::Rebuilding) {
    cancelBranches();  // the new leg is not made
  } else {
    sendBye(1 - from, nullptr);
  }
  finish();
}

void Call::sendBye(int side, const char* reason) {
  if (!sides_[side].leg) return;
  std::string hop;
  tport_t* tport = nullptr;
  if (!pathTo(side, hop, tport)) return;  // nothing to tell it over
  nta_outgoing_t* orq = nta_outgoing_tcreate(
      sides_[side].leg, nullptr, nullptr, hop.empty() ? nullptr : URL_STRING_MAKE(hop.c_str()),
      SIP_METHOD_BYE, nullptr, TAG_IF(reason, SIPTAG_REASON_STR(reason)),
      TAG_IF(tport, NTATAG_TPORT(tport)), TAG_END());
  // nta goes on with it (retransmissions, its answer) after we let go.
  if (orq) nta_outgoing_destroy(orq);
}

void Call::ack(int side, sip_t const* response) {
  std::string hop;
  tport_t* tport = nullptr;
  if (!response->sip_cseq || !pathTo(side, hop, tport)) return;
  Home home;
  sip_cseq_t* cseq = sip_cseq_create(home.get(), response->sip_cseq->cs_seq, SIP_METHOD_ACK);
  nta_outgoing_t* orq = nta_outgoing_tcreate(
      sides_[side].leg, nullptr, nullptr, hop.empty() ? nullptr : URL_STRING_MAKE(hop.c_str()),
      SIP_METHOD_ACK, nullptr, SIPTAG_CSEQ(cseq), TAG_IF(tport, NTATAG_TPORT(tport)), TAG_END());
  if (orq) nta_outgoing_destroy(orq);
}

bool Call::pathTo(int side, std::string& hop, tport_t*& tport) const {
  const Side& s = sides_[side];
  if (s.flow.empty()) return true;  // by the Request-URI (the remote target)
  if (s.flow.transport == Transport::Udp) {
    hop = "sip:" + hostPort(s.flow) + ";transport=udp";
    tport = s.udpSocket;
    return true;
  }
  const auto* flow = dynamic_cast<const SipFlow*>(s.owned.get());
  tport = flow && flow->connection() ? flow->connection() : owner_.proxy().connectionTo(s.flow);
  return tport && !tport_is_closed(tport);
}

// ---------------------------------------------------------------------------
// The end

void Call::shutdown() {
  if (done_) return;
  if (state_ == State::Calling) return failCaller(SIP_500_INTERNAL_SERVER_ERROR);
  sendBye(kCaller, "SIP ;cause=500 ;text=\"beckond stops\"");
  if (state_ == State::Up) sendBye(kCallee, "SIP ;cause=500 ;text=\"beckond stops\"");
  finish();
}

void Call::finish() {
  if (done_) return;
  done_ = true;
  state_ = State::Ending;
  owner_.ended(this);
}

}  // namespace beckon::sip::b2bua
