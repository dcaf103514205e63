// Keeping the conversation through a lost connection (call.h, sip-core.md):
// a B2BUA call's callee leg made again.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "call.h"
#include "call_parts.h"
#include "metrics.h"

namespace beckon::sip::b2bua {

using namespace detail;

void Call::tick() {
  if (done_) return;
  if (state_ == State::Up && calleeFlowLost()) return rebuild("its connection is closed");
  if (state_ == State::Up) return sessionTick();
  if (state_ != State::Rebuilding) return;
  if (std::chrono::steady_clock::now() - lostAt_ >= owner_.config().continuityTimeout) {
    spdlog::info("b2bua: call {}: no device of {} answered within {} s: the caller's dialog ends",
                 id_, calleeAor_, owner_.config().continuityTimeout.count());
    if (Metrics* m = owner_.metrics()) m->b2buaRebuildFailed();
    sendBye(kCaller, "SIP ;cause=480 ;text=\"the callee's devices could not be reached again\"");
    return finish();
  }
  launchRebuild();  // a binding that registered meanwhile
}

bool Call::calleeFlowLost() const {
  const Side& s = sides_[kCallee];
  if (s.flow.empty() || s.flow.transport == Transport::Udp) return false;
  if (const auto* flow = dynamic_cast<const SipFlow*>(s.owned.get())) return flow->closed();
  return !owner_.proxy().connectionTo(s.flow);
}

void Call::rebuild(const char* why) {
  if (done_ || state_ == State::Rebuilding) return;
  spdlog::info("b2bua: call {}: the callee's leg is lost ({}): a new one to {}", id_, why,
               calleeAor_);
  state_ = State::Rebuilding;
  lostAt_ = std::chrono::steady_clock::now();
  // The old dialog: a BYE where its flow still carries one (UDP).
  if (!calleeFlowLost()) sendBye(kCallee, "SIP ;cause=408 ;text=\"the dialog is made again\"");
  for (auto& b : branches_) {
    if (b->orq) nta_outgoing_destroy(b->orq);
  }
  branches_.clear();
  tried_.clear();
  if (!newCalleeLeg()) {
    if (Metrics* m = owner_.metrics()) m->b2buaRebuildFailed();
    sendBye(kCaller, "SIP ;cause=500 ;text=\"the callee's leg could not be made again\"");
    return finish();
  }
  launchRebuild();
}

// Every binding of the callee's address of record at once, each once.
void Call::launchRebuild() {
  for (Target& t : owner_.proxy().resolve(calleeAor_, true)) {
    if (state_ != State::Rebuilding) return;
    Branch* br = addBranch(std::move(t));
    if (!br) continue;
    spdlog::debug("b2bua: call {}: new leg tried at {}", id_, br->target.uri);
    send(*br);
  }
}

void Call::rebuilt(Branch& b, sip_t const* sip) {
  const std::string before = device_;
  const Body sdpBefore = sdp_[kCallee];
  takeCallee(b, sip);
  state_ = State::Up;
  const auto took = std::chrono::steady_clock::now() - lostAt_;
  if (Metrics* m = owner_.metrics()) m->b2buaLegRebuilt(took);
  const bool sameDevice = !before.empty() && before == device_;
  spdlog::info("b2bua: call {}: new leg answered by {} ({}) after {} ms", id_, b.target.uri,
               sameDevice ? "the same device" : "another device",
               std::chrono::duration_cast<std::chrono::milliseconds>(took).count());
  nta_outgoing_destroy(b.orq);  // and its response (`sip`) with it
  b.orq = nullptr;
  if (!sameDevice || sdp_[kCallee] != sdpBefore) tellCaller(b, sameDevice);
  deliverHeld();
}

// A re-INVITE in the caller's dialog with the callee's session description
// now; from another device, naming it (RFC 4916: the connected identity in
// From, its GRUU or Contact; P-Asserted-Identity the same). docs/b2bua.md.
void Call::tellCaller(const Branch& b, bool sameDevice) {
  std::string hop;
  tport_t* tport = nullptr;
  if (!pathTo(kCaller, hop, tport)) return;
  sip_t const* offer = sip_object(offer_);
  const std::string device = b.target.gruu.empty() ? b.target.uri : b.target.gruu;
  const std::string display =
      offer->sip_to->a_display ? std::string(offer->sip_to->a_display) + " " : "";
  const std::string from = display + "<" + device + ">";
  const std::string identity = "P-Asserted-Identity: <" + device + ">";
  const std::string se = sessionExpires(kCaller, true);
  auto owned = std::make_unique<Relay>();
  Relay& r = *owned;
  r.call = this;
  r.from = kCallee;
  r.method = sip_method_invite;
  r.body = sdp_[kCallee];
  relays_.push_back(std::move(owned));
  Home home;
  const Body& sdp = sdp_[kCallee];
  nta_outgoing_t* orq = nta_outgoing_tcreate(
      sides_[kCaller].leg, &Call::onRelayResponse, reinterpret_cast<PendingNotify*>(&r),
      hop.empty() ? nullptr : URL_STRING_MAKE(hop.c_str()), SIP_METHOD_INVITE, nullptr,
      SIPTAG_CONTACT_STR(sides_[kCaller].contact.c_str()),
      TAG_IF(!se.empty(), SIPTAG_SUPPORTED_STR("timer")),
      TAG_IF(!se.empty(), SIPTAG_SESSION_EXPIRES_STR(se.c_str())),
      TAG_IF(!sameDevice, SIPTAG_FROM_STR(from.c_str())),
      TAG_IF(!sameDevice, SIPTAG_HEADER_STR(identity.c_str())),
      TAG_IF(!sdp.type.empty(), SIPTAG_CONTENT_TYPE_STR(sdp.type.c_str())),
      TAG_IF(!sdp.type.empty(), SIPTAG_PAYLOAD(payloadOf(home.get(), sdp.bytes))),
      TAG_IF(tport, NTATAG_TPORT(tport)), TAG_END());
  if (!orq) {
    relays_.remove_if([&](const auto& x) { return x.get() == &r; });
    return;
  }
  if (std::any_of(relays_.begin(), relays_.end(), [&](const auto& x) { return x.get() == &r; }) &&
      !r.orq) {
    r.orq = orq;
  }
}

// The MESSAGEs the caller sent while the leg was being made, one at a
// time, in order: each goes when the one before it has its answer.
void Call::deliverHeld() {
  if (done_ || state_ != State::Up || delivering_ || held_.empty()) return;
  std::string hop;
  tport_t* tport = nullptr;
  if (!pathTo(kCallee, hop, tport)) return rebuild("its connection is closed");
  auto owned = std::make_unique<Relay>();
  Relay& r = *owned;
  r.call = this;
  r.from = kCaller;
  r.method = sip_method_message;
  r.body = held_.front();
  r.held = true;
  relays_.push_back(std::move(owned));
  delivering_ = true;
  Home home;
  nta_outgoing_t* orq = nta_outgoing_tcreate(
      sides_[kCallee].leg, &Call::onRelayResponse, reinterpret_cast<PendingNotify*>(&r),
      hop.empty() ? nullptr : URL_STRING_MAKE(hop.c_str()), SIP_METHOD_MESSAGE, nullptr,
      TAG_IF(!r.body.type.empty(), SIPTAG_CONTENT_TYPE_STR(r.body.type.c_str())),
      TAG_IF(!r.body.type.empty(), SIPTAG_PAYLOAD(payloadOf(home.get(), r.body.bytes))),
      TAG_IF(tport, NTATAG_TPORT(tport)), TAG_END());
  if (!adopt(r, orq)) delivering_ = false;
}

}  // namespace beckon::sip::b2bua
