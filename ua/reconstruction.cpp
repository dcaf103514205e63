// Dialog reconstruction, the user agent's side (docs/beckon-ua.md, "Dialog
// reconstruction"; ../shared/spec/sip-core.md): a 481 with Accessible-Since
// after the dialog's set-up makes beckon-ua send an out-of-dialog REFER
// with the dialog's state to its peer; the peer answers 202 and sends an
// INVITE with Replaces (RFC 3891, 3515) back through beckond.
#include "reconstruction.h"

#include <strings.h>

#include <cctype>
#include <cstring>

#include "agent.h"
#include "call.h"
#include "sdp.h"
#include "sip_text.h"

namespace beckon::ua {

namespace {

constexpr const char* kStateHeader = "Reconstruction-State";
constexpr auto kRebuildWithin = std::chrono::seconds(32);  // Timer B/F: then the call is gone

const char* unknownHeader(const sip_t* sip, const char* name) {
  for (const sip_unknown_t* u = sip ? sip->sip_unknown : nullptr; u; u = u->un_next) {
    if (u->un_name && strcasecmp(u->un_name, name) == 0) return u->un_value;
  }
  return nullptr;
}

// The same party: scheme, user, host and port of `a` and of `uri`.
bool sameParty(const url_t* a, const std::string& uri) {
  if (!a) return false;
  su_home_t home[1] = {SU_HOME_INIT(home)};
  const url_t* b = url_make(home, uri.c_str());
  auto eq = [](const char* x, const char* y) { return str(x) == str(y); };
  const bool same = b && a->url_type == b->url_type && eq(a->url_user, b->url_user) &&
                    strcasecmp(str(a->url_host).c_str(), str(b->url_host).c_str()) == 0 &&
                    eq(a->url_port, b->url_port);
  su_home_deinit(home);
  return same;
}

}  // namespace

std::string hvalueEscape(const std::string& text) {
  static const char* kKeep = "-_.!~*'()[]/:+$";  // RFC 3261 hvalue, less "?"
  std::string out;
  for (const unsigned char ch : text) {
    if (std::isalnum(ch) || (ch && std::strchr(kKeep, ch))) {
      out += static_cast<char>(ch);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", ch);
      out += buf;
    }
  }
  return out;
}

std::string referToValue(const std::string& senderAor, bool senderOriginated,
                         const ReplacesTarget& d) {
  return "<" + senderAor + ";call-reconstruction-" + (senderOriginated ? "org" : "term") +
         "?Replaces=" + hvalueEscape(d.callId + ";to-tag=" + d.toTag + ";from-tag=" + d.fromTag) +
         ">";
}

std::string stateHeaderValue(unsigned long cseq, unsigned long session, unsigned long version,
                             const std::string& contact) {
  return "cseq=" + std::to_string(cseq) + ";session=" + std::to_string(session) +
         ";version=" + std::to_string(version) + ";contact=\"" + contact + "\"";
}

std::string stateParam(const std::string& value, const std::string& name) {
  std::size_t at = 0;
  while (at < value.size()) {
    const auto semi = value.find(';', at);
    const std::string item = value.substr(at, semi == std::string::npos ? semi : semi - at);
    const auto eq = item.find('=');
    if (eq != std::string::npos && item.substr(0, eq) == name) {
      std::string v = item.substr(eq + 1);
      if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
    if (semi == std::string::npos) break;
    at = semi + 1;
  }
  return "";
}

std::optional<std::time_t> httpDate(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end) return std::nullopt;
  return timegm(&tm);
}

std::string Agent::firstRoute() const {
  if (!o_.proxy.empty() || o_.registrar.empty()) return "";
  return "<" + o_.registrar + ";lr>";
}

void Agent::endCall(Call& c, int status, const std::string& reason) {
  Event e = {{"call", c.id}, {"direction", c.outgoing ? "outgoing" : "incoming"}};
  e["remote"] = c.remote;
  e["reason"] = reason;
  e["by"] = "remote";
  if (status) e["status"] = status;
  e["established"] = c.established;
  if (!c.callId.empty()) e["call_id"] = c.callId;
  report("call-ended", e);
  for (nua_handle_t* nh : {c.nh, c.deadNh, c.pendingNh, c.referNh})
    if (nh) nua_handle_destroy(nh);
  calls_.erase(c.id);
}

void Agent::reconstructOr481(Call& c, const sip_t* sip) {
  const char* sinceText = unknownHeader(sip, "Accessible-Since");
  const auto since = sinceText ? httpDate(sinceText) : std::nullopt;
  // The HTTP-date has whole seconds: a dialog set up in the second
  // beckond came back is rebuilt too (a REFER too many does no harm).
  if (!since || *since < c.setUpAt || c.localTag.empty() || c.remoteTag.empty()) {
    // RFC 3261 12.2.1.2: the dialog is over; nua ends it (no BYE).
    c.status = 481;
    c.by = "remote";
    c.reason = "gone";
    return;
  }
  if (c.reason == "bye") {  // our BYE got the 481: it goes again on the new dialog
    c.reason.clear();
    c.by.clear();
    c.hangUpWhenRebuilt = true;
  }
  c.reconstructing = true;
  c.deadNh = c.nh;
  c.nh = nullptr;
  const std::string route = firstRoute();
  c.referNh = nua_handle(nua_, nullptr, SIPTAG_TO_STR(("<" + c.remote + ">").c_str()),
                         TAG_IF(!route.empty(), NUTAG_INITIAL_ROUTE_STR(route.c_str())), TAG_END());
  const std::string referTo = referToValue(o_.aor, c.outgoing, {c.callId, c.localTag, c.remoteTag});
  const std::string contact = "<sip:" + user_ + "@" + o_.listen + ">";
  const std::string state = std::string(kStateHeader) + ": " +
                            stateHeaderValue(c.localCseq, c.session, c.version, contact);
  nua_refer(c.referNh, NUTAG_URL(c.remote.c_str()), SIPTAG_REFER_TO_STR(referTo.c_str()),
            SIPTAG_REFERRED_BY_STR(("<" + o_.aor + ">").c_str()), SIPTAG_HEADER_STR(state.c_str()),
            TAG_END());
  report("call-reconstructing", {{"call", c.id},
                                 {"by", "local"},
                                 {"role", c.outgoing ? "org" : "term"},
                                 {"call_id", c.callId},
                                 {"accessible_since", sinceText},
                                 {"refer_to", referTo}});
  const unsigned id = c.id, generation = c.generation;
  after(kRebuildWithin, [this, id, generation] {
    Call* now = findCall(id);
    if (now && now->generation == generation && now->reconstructing) endCall(*now, 408, "gone");
  });
}

void Agent::onReferAnswer(Call& c, int status, const char* phrase) {
  if (status < 200) return;
  report("call-refer-answered", {{"call", c.id}, {"status", status}, {"phrase", str(phrase)}});
  // 491: glare, the peer rebuilds the call with its own REFER (the 32 s
  // bound still holds).
  if (status >= 300 && status != 491 && c.reconstructing) endCall(c, status, "gone");
}

void Agent::onRefer(nua_handle_t* nh, const sip_t* sip) {
  Call* inDialog = findCall(nh);
  Event e = Event::object();
  e["from"] = sip && sip->sip_from ? urlText(sip->sip_from->a_url) : "";
  auto answer = [&](int code, const char* phrase, const std::string& why) {
    nua_respond(nh, code, phrase, NUTAG_WITH_THIS(nua_), TAG_END());
    e["status"] = code;
    if (!why.empty()) e["reason"] = why;
    report("refer", e);
    // Freed a moment later, not under nua's feet: it has already started
    // the implicit subscription's NOTIFY (RFC 3515) for this REFER.
    if (code >= 300 && !inDialog) after(std::chrono::seconds(1), [nh] { nua_handle_destroy(nh); });
  };
  const url_t* target = sip && sip->sip_refer_to ? sip->sip_refer_to->r_url : nullptr;
  if (!target) return answer(400, "Bad Request", "no Refer-To");
  const bool org = url_has_param(target, "call-reconstruction-org");
  const bool term = url_has_param(target, "call-reconstruction-term");
  if (!org && !term) return answer(403, "Forbidden", "beckon-ua transfers no calls");
  if (org && term) return answer(400, "Bad Request", "both call-reconstruction-org and -term");
  su_home_t home[1] = {SU_HOME_INIT(home)};
  struct Deinit {
    su_home_t* h;
    ~Deinit() { su_home_deinit(h); }
  } deinit{home};
  const char* headers =
      target->url_headers ? url_query_as_header_string(home, target->url_headers) : nullptr;
  std::string replacesText;
  if (headers && strncasecmp(headers, "Replaces:", 9) == 0) {
    replacesText = headers + 9;
    const auto nl = replacesText.find('\n');
    if (nl != std::string::npos) replacesText.resize(nl);
  }
  sip_replaces_t* rp =
      replacesText.empty() ? nullptr : sip_replaces_make(home, replacesText.c_str());
  if (!rp || !rp->rp_call_id || !rp->rp_to_tag || !rp->rp_from_tag)
    return answer(400, "Bad Request", "Refer-To: no Replaces with call-id, to-tag and from-tag");
  e["call_id"] = rp->rp_call_id;
  Call* c = nullptr;
  for (auto& [id, call] : calls_) {
    if (call->established && call->reason.empty() && call->callId == rp->rp_call_id &&
        call->remoteTag == rp->rp_to_tag && call->localTag == rp->rp_from_tag)
      c = call.get();
  }
  if (!c) return answer(481, "Call/Transaction Does Not Exist", "no such call");
  e["call"] = c->id;
  if (!sameParty(sip->sip_from->a_url, c->remote))
    return answer(403, "Forbidden", "the sender is not the call's other party");
  url_t bare = *target;
  bare.url_params = nullptr;
  bare.url_headers = nullptr;
  if (!sameParty(&bare, c->remote)) return answer(403, "Forbidden", "Refer-To is not the sender");
  if (org == c->outgoing) return answer(403, "Forbidden", "the sender's role is not its role");
  const char* state = unknownHeader(sip, kStateHeader);
  const std::string session = state ? stateParam(state, "session") : "";
  if (!session.empty() && !c->remoteSession.empty() && session != c->remoteSession)
    return answer(403, "Forbidden", "not the call's SDP session");
  // Glare (both ends got the 481 and sent a REFER): the REFER of the side
  // that placed the call wins; the other side drops its own and sends the
  // INVITE with Replaces.
  const bool ourReferPending = c->reconstructing && !c->pendingNh;
  if (c->reconstructing && !(ourReferPending && org))
    return answer(491, "Request Pending", "being rebuilt already");
  if (ourReferPending && c->referNh) {
    nua_handle_destroy(c->referNh);
    c->referNh = nullptr;
  }
  answer(202, "Accepted", "");
  if (!inDialog) c->referNh = nh;
  c->reconstructing = true;
  const std::string route = firstRoute();
  c->pendingNh =
      nua_handle(nua_, nullptr, SIPTAG_TO_STR(("<" + c->remote + ">").c_str()),
                 TAG_IF(!route.empty(), NUTAG_INITIAL_ROUTE_STR(route.c_str())), TAG_END());
  const std::string replaces =
      std::string(rp->rp_call_id) + ";to-tag=" + rp->rp_to_tag + ";from-tag=" + rp->rp_from_tag;
  const std::string offer = sdpOffer(sdpAddress(), c->session, ++c->version);
  nua_invite(c->pendingNh, NUTAG_URL(c->remote.c_str()), SIPTAG_REPLACES_STR(replaces.c_str()),
             SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(offer.c_str()),
             TAG_END());
  report(
      "call-reconstructing",
      {{"call", c->id}, {"by", "remote"}, {"role", org ? "term" : "org"}, {"call_id", c->callId}});
}

void Agent::onReplacingInvite(nua_handle_t* nh, const sip_t* sip) {
  const sip_replaces_t* rp = sip->sip_replaces;
  Call* c = nullptr;
  for (auto& [id, call] : calls_) {
    if (call->reconstructing && !call->pendingNh && call->callId == str(rp->rp_call_id) &&
        call->localTag == str(rp->rp_to_tag) && call->remoteTag == str(rp->rp_from_tag))
      c = call.get();
  }
  const std::string from = sip->sip_from ? urlText(sip->sip_from->a_url) : "";
  if (!c || !sameParty(sip->sip_from ? sip->sip_from->a_url : nullptr, c->remote)) {
    // RFC 3891 3: no dialog of ours matches (or not from its party).
    nua_respond(nh, SIP_481_NO_TRANSACTION, NUTAG_WITH_THIS(nua_), TAG_END());
    report("call-replaces-refused", {{"from", from}, {"call_id", str(rp->rp_call_id)}});
    nua_handle_destroy(nh);
    return;
  }
  const std::string offer = payloadOf(sip);
  const auto answer = sdpAnswer(offer, sdpAddress(), c->session, ++c->version);
  if (!answer) {
    nua_respond(nh, SIP_488_NOT_ACCEPTABLE, NUTAG_WITH_THIS(nua_), TAG_END());
    nua_handle_destroy(nh);
    return endCall(*c, 488, "gone");
  }
  c->codec = answer->codec;
  c->remoteSession = sdpSessionOf(offer);
  c->callId = callIdOf(sip);
  c->nh = nh;
  c->localTag.clear();
  noteTags(*c, sip, true);  // the remote tag now, ours with the ACK
  nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(nua_), SIPTAG_CONTENT_TYPE_STR("application/sdp"),
              SIPTAG_PAYLOAD_STR(answer->body.c_str()), TAG_END());
}

void Agent::onReplacingInviteAnswer(Call& c, nua_handle_t* nh, int status, const sip_t* sip) {
  if (nh != c.pendingNh || status < 200) return;
  if (status < 300) {
    c.pendingCallId = callIdOf(sip);
    noteTags(c, sip, false);
    c.remoteSession = sdpSessionOf(payloadOf(sip));
    c.codec = sdpChosenCodec(payloadOf(sip));
    return;  // the call is rebuilt once nua has ACKed (onReconstructionState)
  }
  report("call-reconstruction-failed", {{"call", c.id}, {"status", status}});
}

void Agent::onReconstructionState(Call& c, nua_handle_t* nh, int state, int) {
  if (nh == c.deadNh && state == nua_callstate_terminated) {
    nua_handle_destroy(nh);
    c.deadNh = nullptr;
  } else if (nh == c.pendingNh && state == nua_callstate_ready) {
    // The new dialog is up: the old one ends here, with no BYE (beckond
    // knows it no more: it would get a 481).
    nua_handle_t* old = c.nh;
    c.nh = nh;
    c.pendingNh = nullptr;
    c.callId = c.pendingCallId;
    if (old) nua_handle_destroy(old);
    rebuilt(c, "local");
  } else if (nh == c.pendingNh && state == nua_callstate_terminated) {
    nua_handle_destroy(nh);
    c.pendingNh = nullptr;
    c.reconstructing = false;
  }
}

void Agent::rebuilt(Call& c, const std::string& by) {
  c.reconstructing = false;
  noteDialog(c);
  if (c.referNh) {
    nua_handle_destroy(c.referNh);
    c.referNh = nullptr;
  }
  report("call-reconstructed", {{"call", c.id},
                                {"by", by},
                                {"direction", c.outgoing ? "outgoing" : "incoming"},
                                {"call_id", c.callId}});
  armCallTimers(c);
  if (c.hangUpWhenRebuilt) {
    c.hangUpWhenRebuilt = false;
    hangUp(c.id);
  }
}

}  // namespace beckon::ua
