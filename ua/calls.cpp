// beckon-ua's calls: placing, answering, re-INVITE, ending, and the
// INVITE placed again with our own digest credentials.
#include <strings.h>
#include <unistd.h>

#include "agent.h"
#include "call.h"
#include "sdp.h"
#include "sip_text.h"

namespace beckon::ua {

bool Agent::authenticateCall(Call& c, const sip_t* sip) {
  if (c.authTries >= 2) return false;
  if (nuaAuthenticates(c.nh, sip, "INVITE")) {
    ++c.authTries;
    return true;
  }
  // nua has taken the 401/407 as final: the call is placed again, with our
  // own credentials, once nua has ended this one (onCallState).
  c.retryAuthorization = credentialsFor(sip, "INVITE", c.remote);
  if (c.retryAuthorization.empty()) return false;
  c.retryProxy = sip->sip_status && sip->sip_status->st_status == 407;
  ++c.authTries;
  return true;
}

void Agent::inviteAgain(Call& c) {
  nua_handle_destroy(c.nh);
  c.nh = nua_handle(nua_, nullptr, SIPTAG_TO_STR(("<" + c.remote + ">").c_str()), TAG_END());
  const std::string authorization = std::move(c.retryAuthorization);
  c.retryAuthorization.clear();
  c.callId.clear();
  c.provisional = false;
  if (!c.nh) {
    reporter_.emit("error", {{"reason", "cannot make a handle for the call to " + c.remote}});
    fail("cannot place the call");
    return;
  }
  const std::string offer = sdpOffer(sdpAddress(), c.session);
  nua_invite(c.nh, SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(offer.c_str()),
             TAG_IF(!c.retryProxy, SIPTAG_AUTHORIZATION_STR(authorization.c_str())),
             TAG_IF(c.retryProxy, SIPTAG_PROXY_AUTHORIZATION_STR(authorization.c_str())),
             TAG_END());
}

Agent::Call* Agent::findCall(unsigned id) {
  const auto it = calls_.find(id);
  return it == calls_.end() ? nullptr : it->second.get();
}

Agent::Call* Agent::findCall(nua_handle_t* nh) {
  if (!nh) return nullptr;
  for (auto& [id, c] : calls_) {
    if (c->nh == nh || c->deadNh == nh || c->pendingNh == nh || c->referNh == nh) return c.get();
  }
  return nullptr;
}

void Agent::placeCall() {
  callPlaced_ = true;
  auto c = std::make_unique<Call>();
  c->id = nextCall_++;
  c->outgoing = true;
  c->remote = o_.call;
  c->nh = nua_handle(nua_, nullptr, SIPTAG_TO_STR(("<" + o_.call + ">").c_str()), TAG_END());
  if (!c->nh) {
    reporter_.emit("error", {{"reason", "cannot make a handle for the call to " + o_.call}});
    fail("cannot place the call");
    return;
  }
  c->session = c->version = static_cast<unsigned long>(::getpid());
  const std::string offer = sdpOffer(sdpAddress(), c->session);
  report("call-outgoing", {{"call", c->id}, {"to", o_.call}});
  nua_invite(c->nh, SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(offer.c_str()),
             TAG_END());
  calls_.emplace(c->id, std::move(c));
}

void Agent::onInvite(nua_handle_t* nh, const sip_t* sip) {
  if (Call* existing = findCall(nh)) {  // a re-INVITE: same session, a fresh answer
    const std::string offer = payloadOf(sip);
    const auto version = ++existing->version;
    std::string body;
    if (offer.empty()) {
      body = sdpOffer(sdpAddress(), existing->session, version);
    } else if (auto answer = sdpAnswer(offer, sdpAddress(), existing->session, version)) {
      body = answer->body;
    }
    const int status = body.empty() ? 488 : 200;
    if (body.empty()) {
      nua_respond(nh, SIP_488_NOT_ACCEPTABLE, NUTAG_WITH_THIS(nua_), TAG_END());
    } else {
      nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(nua_), SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                  SIPTAG_PAYLOAD_STR(body.c_str()), TAG_END());
    }
    report("call-reinvite", {{"call", existing->id}, {"by", "remote"}, {"status", status}});
    return;
  }
  if (sip && sip->sip_replaces) return onReplacingInvite(nh, sip);
  auto c = std::make_unique<Call>();
  c->id = nextCall_++;
  c->nh = nh;
  c->session = c->version = static_cast<unsigned long>(::getpid());
  c->remote = sip && sip->sip_from ? urlText(sip->sip_from->a_url) : "";
  noteTags(*c, sip, true);
  c->callId = callIdOf(sip);
  const char* ctype = sip && sip->sip_content_type ? sip->sip_content_type->c_type : nullptr;
  if (ctype && strcasecmp(ctype, "application/sdp") == 0) c->offer = payloadOf(sip);
  c->remoteSession = sdpSessionOf(c->offer);
  Call& call = *c;
  calls_.emplace(c->id, std::move(c));
  report("call-incoming", {{"call", call.id},
                           {"from", call.remote},
                           {"to", sip && sip->sip_to ? urlText(sip->sip_to->a_url) : ""},
                           {"call_id", call.callId}});
  if (o_.rejectCode) {
    call.status = o_.rejectCode;
    call.by = "local";
    call.reason = "rejected";
    call.answered = true;
    const char* phrase = sip_status_phrase(o_.rejectCode);
    nua_respond(nh, o_.rejectCode, phrase ? phrase : "Rejected", NUTAG_WITH_THIS(nua_), TAG_END());
    return;
  }
  nua_respond(nh, SIP_180_RINGING, NUTAG_WITH_THIS(nua_), TAG_END());
  if (o_.answerAfterMs) {
    const unsigned id = call.id;
    after(std::chrono::milliseconds(*o_.answerAfterMs), [this, id] { answerCall(id); });
  }
}

void Agent::answerCall(unsigned id) {
  Call* c = findCall(id);
  if (!c || c->answered || !c->reason.empty()) return;  // cancelled meanwhile
  c->answered = true;
  const std::string address = sdpAddress();
  std::string body;
  if (c->offer.empty()) {
    body = sdpOffer(address, c->session);  // late offer: ours in the 200
  } else if (auto answer = sdpAnswer(c->offer, address, c->session)) {
    body = answer->body;
    c->codec = answer->codec;
  } else {
    c->status = 488;
    c->by = "local";
    c->reason = "rejected";
    nua_respond(c->nh, SIP_488_NOT_ACCEPTABLE, TAG_END());
    return;
  }
  nua_respond(c->nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
              SIPTAG_PAYLOAD_STR(body.c_str()), TAG_END());
}

void Agent::reinvite(unsigned id) {
  Call* c = findCall(id);
  if (!c || !c->established || !c->reason.empty() || c->reconstructing) return;
  const std::string offer = sdpOffer(sdpAddress(), c->session, ++c->version);
  nua_invite(c->nh, SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(offer.c_str()),
             TAG_END());
}

void Agent::sendInfo(unsigned id) {
  Call* c = findCall(id);
  if (!c || !c->established || !c->reason.empty() || c->reconstructing) return;
  nua_info(c->nh, SIPTAG_CONTENT_TYPE_STR("application/dtmf-relay"),
           SIPTAG_PAYLOAD_STR("Signal=1\r\nDuration=100\r\n"), TAG_END());
}

void Agent::hangUp(unsigned id) {
  Call* c = findCall(id);
  if (!c || !c->established || !c->reason.empty()) return;
  if (c->reconstructing) {  // the BYE goes on the new dialog
    c->hangUpWhenRebuilt = true;
    return;
  }
  c->by = "local";
  c->reason = "bye";
  nua_bye(c->nh, TAG_END());
}

void Agent::noteTags(Call& c, const sip_t* sip, bool request) {
  // In a request from the peer (its ACK), To is ours; in an answer to
  // ours, From is.
  if (!sip || !sip->sip_from || !sip->sip_to) return;
  const char* local = request ? sip->sip_to->a_tag : sip->sip_from->a_tag;
  const char* remote = request ? sip->sip_from->a_tag : sip->sip_to->a_tag;
  if (local) c.localTag = local;
  if (remote) c.remoteTag = remote;
}

void Agent::noteDialog(Call& c) {
  c.setUpAt = std::time(nullptr);
}

void Agent::armCallTimers(Call& c) {
  const unsigned id = c.id, generation = ++c.generation;
  auto current = [this, id, generation] {
    Call* now = findCall(id);
    return now && now->generation == generation ? now : nullptr;
  };
  if (o_.reinviteAfterS) {
    after(std::chrono::milliseconds(static_cast<long long>(*o_.reinviteAfterS * 1000)),
          [this, id, current] {
            if (current()) reinvite(id);
          });
  }
  if (o_.infoAfterS) {
    after(std::chrono::milliseconds(static_cast<long long>(*o_.infoAfterS * 1000)),
          [this, id, current] {
            if (current()) sendInfo(id);
          });
  }
  if (o_.hangupAfterS) {
    after(std::chrono::milliseconds(static_cast<long long>(*o_.hangupAfterS * 1000)),
          [this, id, current] {
            if (current()) hangUp(id);
          });
  }
}

void Agent::onCallState(nua_handle_t* nh, int status, const char*, const sip_t* sip,
                        tagi_t tags[]) {
  Call* c = findCall(nh);
  if (!c) return;
  int state = nua_callstate_init;
  tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
  if (state == nua_callstate_ready && sip && sip->sip_request)
    noteTags(*c, sip, true);  // the ACK (a call we answered)
  if (nh != c->nh) return onReconstructionState(*c, nh, state, status);
  if (state == nua_callstate_ready && c->reconstructing) return rebuilt(*c, "remote");
  if (state == nua_callstate_ready && !c->established) {
    c->established = true;
    noteDialog(*c);
    Event e = {{"call", c->id}, {"direction", c->outgoing ? "outgoing" : "incoming"}};
    e["remote"] = c->remote;
    if (!c->codec.empty()) e["codec"] = c->codec;
    if (!c->callId.empty()) e["call_id"] = c->callId;
    e["local_tag"] = c->localTag;
    e["remote_tag"] = c->remoteTag;
    report("call-established", e);
    armCallTimers(*c);
  } else if (state == nua_callstate_terminated && !c->retryAuthorization.empty()) {
    inviteAgain(*c);
  } else if (state == nua_callstate_terminated) {
    Event e = {{"call", c->id}, {"direction", c->outgoing ? "outgoing" : "incoming"}};
    e["remote"] = c->remote;
    if (c->reason.empty()) {  // ended by the stack: shutdown, timeout, transport error
      c->by = "local";
      c->reason = c->established ? "bye" : "failed";
      if (!c->status && status >= 300) c->status = status;
    }
    e["reason"] = c->reason;
    e["by"] = c->by;
    if (c->status) e["status"] = c->status;
    e["established"] = c->established;
    if (!c->callId.empty()) e["call_id"] = c->callId;
    report("call-ended", e);
    nua_handle_destroy(nh);
    for (nua_handle_t* other : {c->deadNh, c->pendingNh, c->referNh})
      if (other) nua_handle_destroy(other);
    calls_.erase(c->id);
  }
}

}  // namespace beckon::ua
