// Session timers (RFC 4028) on both legs of a B2BUA call, so that a dead
// leg is found: beckond asks for b2bua.session_expires_s on the callee's
// leg (refresher: itself) and takes what the caller asks on the caller's
// (refresher: the caller when it supports timers, else itself). A refresh
// of ours is an UPDATE (a re-INVITE with the session description that leg
// has when UPDATE is not allowed); any INVITE or UPDATE answered 2xx on a
// leg refreshes it. A refresh that fails, or a refresher that does not
// refresh in time (section 10), ends the caller's leg (BYE to both) or
// makes the callee's again (continuity.cpp).
#include <spdlog/spdlog.h>

#include <strings.h>

#include <algorithm>

#include "call.h"
#include "call_parts.h"

namespace beckon::sip::b2bua {

using namespace detail;

namespace {

constexpr long kMinSe = 90;  // RFC 4028 4: the smallest interval

bool supportsTimer(sip_t const* sip) {
  for (sip_supported_t const* k = sip ? sip->sip_supported : nullptr; k; k = k->k_next) {
    for (msg_param_t const* p = k->k_items; p && *p; ++p) {
      if (!strcasecmp(*p, "timer")) return true;
    }
  }
  return false;
}

}  // namespace

// The callee's 2xx to our INVITE (section 7.2): its Session-Expires says
// the interval and who refreshes; none: we refresh, at the interval we asked.
void Call::timerFromCallee(sip_t const* response) {
  Side& s = sides_[kCallee];
  const auto asked = owner_.config().sessionExpires;
  s.interval = std::chrono::seconds(0);
  if (asked.count() == 0) return;
  s.refreshed = std::chrono::steady_clock::now();
  if (sip_session_expires_t const* x = response->sip_session_expires) {
    s.interval = std::chrono::seconds(std::max<long>(static_cast<long>(x->x_delta), kMinSe));
    s.weRefresh = !x->x_refresher || strcasecmp(x->x_refresher, "uas") != 0;
  } else {
    s.interval = asked;
    s.weRefresh = true;
  }
}

// Our 2xx to the caller's INVITE (section 9): the Session-Expires it
// carries ("" for none); `require`: the caller supports timers.
std::string Call::timerForCaller(bool& require) {
  sip_t const* sip = sip_object(offer_);
  Side& s = sides_[kCaller];
  require = supportsTimer(sip);
  s.interval = std::chrono::seconds(0);
  if (sip->sip_session_expires) {
    timerFromRequest(kCaller, sip);
  } else if (owner_.config().sessionExpires.count() > 0) {
    s.interval = owner_.config().sessionExpires;
    s.weRefresh = true;  // the caller may not know timers: we refresh
    s.refreshed = std::chrono::steady_clock::now();
  }
  return sessionExpires(kCaller, false);
}

// A request from `side` with a Session-Expires (its INVITE, re-INVITE or
// UPDATE): the interval and the refresher it names; none named: the
// requester refreshes when it supports timers.
void Call::timerFromRequest(int side, sip_t const* request) {
  sip_session_expires_t const* x = request->sip_session_expires;
  if (!x) return;
  Side& s = sides_[side];
  s.interval = std::chrono::seconds(std::max<long>(static_cast<long>(x->x_delta), kMinSe));
  if (x->x_refresher) {
    s.weRefresh = !strcasecmp(x->x_refresher, "uas");
  } else {
    s.weRefresh = !supportsTimer(request);
  }
  s.refreshed = std::chrono::steady_clock::now();
}

// The Session-Expires value for a message on `side`'s leg: in a request of
// ours (we are the UAC of that transaction) or in a response of ours.
std::string Call::sessionExpires(int side, bool inRequest) const {
  const Side& s = sides_[side];
  if (s.interval.count() == 0) return "";
  const bool uac = inRequest == s.weRefresh;
  return std::to_string(s.interval.count()) + ";refresher=" + (uac ? "uac" : "uas");
}

void Call::sessionRefreshed(int side) {
  sides_[side].refreshed = std::chrono::steady_clock::now();
}

void Call::sessionTick() {
  if (state_ != State::Up) return;
  const auto now = std::chrono::steady_clock::now();
  for (int side : {kCaller, kCallee}) {
    Side& s = sides_[side];
    if (s.interval.count() == 0) continue;
    const auto since = now - s.refreshed;
    if (s.weRefresh) {
      if (!s.refreshing && since >= s.interval / 2) refresh(side, sip_method_update);
      continue;
    }
    // Section 10: "the minimum of 32 seconds and one third of the session
    // interval" before it expires, a BYE.
    const auto margin = std::min<std::chrono::seconds>(std::chrono::seconds(32), s.interval / 3);
    if (since < s.interval - margin) continue;
    spdlog::info("b2bua: call {}: the {}'s session timer expired ({} s without a refresh)", id_,
                 side == kCaller ? "caller" : "callee", s.interval.count());
    if (side == kCallee) return rebuild("its session timer expired");
    sendBye(kCaller, "SIP ;cause=408 ;text=\"session timer expired\"");
    sendBye(kCallee, "SIP ;cause=408 ;text=\"the other party's session timer expired\"");
    return finish();
  }
}

// A refresh of ours on `side`'s leg: an UPDATE without a body, or a
// re-INVITE with the session description that leg has (the other side's).
void Call::refresh(int side, sip_method_t method) {
  Side& s = sides_[side];
  // An offer on its way refreshes the leg when answered; none crosses it.
  if (std::any_of(relays_.begin(), relays_.end(), [](const auto& r) { return r->offer(); })) {
    return;
  }
  std::string hop;
  tport_t* tport = nullptr;
  if (!pathTo(side, hop, tport)) {
    if (side == kCallee) return rebuild("its connection is closed");
    return;
  }
  auto owned = std::make_unique<Relay>();
  Relay& r = *owned;
  r.call = this;
  r.from = 1 - side;
  r.method = method;
  r.refresh = true;
  if (method == sip_method_invite) r.body = sdp_[1 - side];
  relays_.push_back(std::move(owned));
  s.refreshing = true;
  const std::string se = sessionExpires(side, true);
  Home home;
  nta_outgoing_t* orq = nta_outgoing_tcreate(
      s.leg, &Call::onRelayResponse, reinterpret_cast<PendingNotify*>(&r),
      hop.empty() ? nullptr : URL_STRING_MAKE(hop.c_str()), method,
      method == sip_method_invite ? "INVITE" : "UPDATE", nullptr,
      SIPTAG_CONTACT_STR(s.contact.c_str()), SIPTAG_SUPPORTED_STR("timer"),
      SIPTAG_SESSION_EXPIRES_STR(se.c_str()),
      TAG_IF(!r.body.type.empty(), SIPTAG_CONTENT_TYPE_STR(r.body.type.c_str())),
      TAG_IF(!r.body.type.empty(), SIPTAG_PAYLOAD(payloadOf(home.get(), r.body.bytes))),
      TAG_IF(tport, NTATAG_TPORT(tport)), TAG_END());
  if (!adopt(r, orq)) s.refreshing = false;
}

}  // namespace beckon::sip::b2bua
