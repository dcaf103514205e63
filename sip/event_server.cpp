#include "event_server.h"

#include <spdlog/spdlog.h>
#include <strings.h>

#include <algorithm>

#include "device_id.h"
#include "logfmt.h"
#include "metrics.h"

namespace beckon::sip {

namespace {

template <class... Tags>
void reply(nta_incoming_t* irq, int status, const char* phrase, Tags... tags) {
  nta_incoming_treply(irq, status, phrase, tags..., SIPTAG_SERVER_STR("beckon/" BECKON_VERSION),
                      TAG_END());
  nta_incoming_destroy(irq);
}

// The body format the subscriber accepts: the first of application/P and
// application/P+xml in its Accept; text when it does not say.
BodyFormat formatFor(sip_t const* sip, const std::string& package) {
  const std::string text = "application/" + package;
  const std::string xml = text + "+xml";
  for (sip_accept_t const* ac = sip->sip_accept; ac; ac = ac->ac_next) {
    if (!ac->ac_type) continue;
    if (!strcasecmp(ac->ac_type, xml.c_str())) return BodyFormat::Xml;
    if (!strcasecmp(ac->ac_type, text.c_str())) return BodyFormat::Text;
  }
  return BodyFormat::Text;
}

std::string dialogIdOf(sip_t const* sip, const char* localTag) {
  return std::string(sip->sip_call_id->i_id) + ";" +
         (sip->sip_from->a_tag ? sip->sip_from->a_tag : "") + ";" + (localTag ? localTag : "");
}

}  // namespace

void EventServer::onSubscribe(nta_agent_t* agent, msg_t* msg, sip_t const* sip) {
  const Source source = sourceOf(agent, msg);
  // A server transaction absorbs retransmissions: a repeated initial
  // SUBSCRIBE must not make a second subscription.
  nta_incoming_t* irq =
      nta_incoming_create(agent, nullptr, msg, const_cast<sip_t*>(sip),
                          TAG_IF(source.tport, NTATAG_TPORT(source.tport)), TAG_END());
  if (irq) handle(agent, irq, sip, source);
}

int EventServer::onDialogRequest(nta_agent_t* agent, nta_incoming_t* irq, sip_t const* sip) {
  if (sip->sip_request->rq_method != sip_method_subscribe) return 405;
  handle(agent, irq, sip, Source{});
  return 0;
}

void EventServer::handle(nta_agent_t* agent, nta_incoming_t* irq, sip_t const* sip,
                         const Source& source) {
  // RFC 6665 4.2.1.1: a package we do not serve gets 489 with Allow-Events.
  const char* event = sip->sip_event ? sip->sip_event->o_type : nullptr;
  const auto& packages = config_.packages;
  if (!event || std::find(packages.begin(), packages.end(), event) == packages.end()) {
    std::string allow;
    for (const auto& p : packages)
      allow += (allow.empty() ? "" : ", ") + p;
    reply(irq, SIP_489_BAD_EVENT, SIPTAG_ALLOW_EVENTS_STR(allow.c_str()));
    return;
  }
  // Subscription duration (4.2.1.1): Expires, bounded like registrations.
  unsigned expires = sip->sip_expires ? sip->sip_expires->ex_delta : config_.defaultExpires;
  if (expires != 0 && expires < config_.minExpires) {
    const std::string min = std::to_string(config_.minExpires);
    reply(irq, SIP_423_INTERVAL_TOO_BRIEF, SIPTAG_MIN_EXPIRES_STR(min.c_str()));
    return;
  }
  expires = std::min(expires, config_.maxExpires);
  // RFC 6665 4.2.1.2: authentication, as for REGISTER (the subscriber's own
  // address of record, its From).
  const std::optional<std::string> subscriber = normaliseAor(urlString(sip->sip_from->a_url));
  const auto decision =
      authorizer_.check(sip, subscriber ? directoryNumberOf(*subscriber) : "", source.hostPort());
  if (decision.status) {
    reply(irq, decision.status, decision.phrase, CHALLENGE_TAGS(decision));
    return;
  }

  if (sip->sip_to->a_tag) {
    refresh(irq, sip, expires);
  } else {
    create(agent, irq, sip, source, event, expires);
  }
}

void EventServer::refresh(nta_incoming_t* irq, sip_t const* sip, unsigned expires) {
  const Binding* b = core_.bindings().byDialog(dialogIdOf(sip, sip->sip_to->a_tag));
  if (!b) {
    reply(irq, SIP_481_NO_TRANSACTION);
    return;
  }
  if (sip->sip_cseq->cs_seq <= b->cseq) {
    reply(irq, 500, "Server Internal Error (CSeq out of order)");
    return;
  }
  if (expires == 0) {  // 4.2.1.4: unsubscribing
    answerStored(irq, *b, expires, "timeout");
    return;
  }
  Binding updated = *b;
  updated.expires = clock_.now() + std::chrono::seconds(expires);
  updated.cseq = sip->sip_cseq->cs_seq;
  if (const auto* dialog = dynamic_cast<const SipDialog*>(b->dialog.get()); dialog && dialog->leg())
    updated.dialogState.localCseq = nta_leg_get_seq(dialog->leg());
  spdlog::debug("subscription refreshed aor={} contact={} instance={} source={} expires={}",
                quoted(updated.aor), quoted(updated.contact), quoted(updated.instance),
                updated.sourceHostPort(), expires);
  if (Metrics* m = core_.metrics()) m->subscriptionChanged(Metrics::SubscriptionChange::Refreshed);
  const std::uint64_t id = core_.storeBinding(std::move(updated));
  answerStored(irq, *core_.bindings().get(id), expires, "");
}

void EventServer::answerStored(nta_incoming_t* irq, const Binding& b, unsigned expires,
                               const std::string& endReason) {
  // The 200 once the subscription is stored; then, 4.2.2: a NOTIFY with the
  // current state after every accepted SUBSCRIBE: the pending requests, each
  // in its own NOTIFY, or "state: idle" (a fetch or an unsubscribe: the
  // final state).
  core_.afterCommit([this, irq, id = b.id, contact = sender_.contactFor(b), expires,
                     package = b.packages.empty() ? std::string() : b.packages.front().package,
                     endReason](bool committed) {
    if (!committed) {
      reply(irq, 500, "Server Internal Error (the subscription could not be stored)",
            SIPTAG_RETRY_AFTER_STR("5"));
      return;
    }
    const std::string exp = std::to_string(expires);
    reply(irq, SIP_200_OK, SIPTAG_EXPIRES_STR(exp.c_str()), SIPTAG_CONTACT_STR(contact.c_str()));
    if (!endReason.empty()) {
      core_.endSubscription(id, endReason);
      return;
    }
    const Binding* stored = core_.bindings().get(id);
    if (!stored) return;
    if (core_.waitingFor(*stored, package) == 0) {
      core_.notifyIdle(id);
    } else {
      core_.reachWaiting(id);
    }
  });
}

std::optional<std::string> EventServer::restoreDialog(nta_agent_t* agent, Binding& b) {
  const DialogState& d = b.dialogState;
  if (d.local.empty() || d.remote.empty() || d.target.empty()) return "its dialog state is missing";
  Home home;
  std::string routeSet;
  for (const auto& hop : d.routeSet)
    routeSet += (routeSet.empty() ? "" : ", ") + hop;
  sip_route_t* route = routeSet.empty() ? nullptr : sip_route_make(home.get(), routeSet.c_str());
  sip_contact_t* target = sip_contact_make(home.get(), ("<" + d.target + ">").c_str());
  // Our NOTIFYs go on above any CSeq the dialog used before (RFC 3261
  // 12.2.1.1): the one saved when it was made or last refreshed, plus room
  // for the NOTIFYs sent since.
  const std::string cseq = std::to_string(d.localCseq + 10000);
  nta_leg_t* leg =
      nta_leg_tcreate(agent, dialogCallback_, magic_, SIPTAG_CALL_ID_STR(b.callId.c_str()),
                      SIPTAG_FROM_STR(d.local.c_str()), SIPTAG_TO_STR(d.remote.c_str()),
                      TAG_IF(route, SIPTAG_ROUTE(route)), TAG_IF(target, NTATAG_TARGET(target)),
                      SIPTAG_CSEQ_STR(cseq.c_str()), NTATAG_REMOTE_CSEQ(b.cseq), TAG_END());
  if (!leg) return "nta cannot make its dialog again";
  b.dialog = std::make_shared<SipDialog>(resources_, leg);
  return std::nullopt;
}

void EventServer::create(nta_agent_t* agent, nta_incoming_t* irq, sip_t const* sip,
                         const Source& source, const std::string& package, unsigned expires) {
  const std::optional<std::string> aor = normaliseAor(urlString(sip->sip_from->a_url));
  if (!aor || !sip->sip_contact || sip->sip_contact->m_url->url_type == url_any) {
    reply(irq, 400, "Bad Request (From must be an address of record, and a Contact is needed)");
    return;
  }
  // The dialog: our side is the To, theirs the From; the route set and remote
  // target from Record-Route and Contact (RFC 3261 12.1.1).
  // Our CSeq starts where we say (not at nta's clock-based choice), so that
  // the dialog can go on above it after a restart (restoreDialog).
  nta_leg_t* leg = nta_leg_tcreate(agent, dialogCallback_, magic_, SIPTAG_CALL_ID(sip->sip_call_id),
                                   SIPTAG_FROM(sip->sip_to), SIPTAG_TO(sip->sip_from),
                                   SIPTAG_CSEQ_STR("1"), TAG_END());
  if (!leg) {
    reply(irq, SIP_500_INTERNAL_SERVER_ERROR);
    return;
  }
  const char* tag = nta_leg_tag(leg, nullptr);
  nta_leg_server_route(leg, sip->sip_record_route, sip->sip_contact);
  DialogState state;
  state.local = "<" + urlString(sip->sip_to->a_url) + ">;tag=" + (tag ? tag : "");
  state.remote = "<" + urlString(sip->sip_from->a_url) +
                 ">;tag=" + (sip->sip_from->a_tag ? sip->sip_from->a_tag : "");
  state.target = urlString(sip->sip_contact->m_url);
  state.localCseq = nta_leg_get_seq(leg);
  for (sip_record_route_t const* r = sip->sip_record_route; r; r = r->r_next) {
    std::string hop = "<" + urlString(r->r_url) + ">";
    for (msg_param_t const* p = r->r_params; p && *p; ++p)
      hop += std::string(";") + *p;
    state.routeSet.push_back(std::move(hop));
  }
  auto dialog = std::make_shared<SipDialog>(resources_, leg);

  Binding b;
  b.aor = *aor;
  b.contact = urlString(sip->sip_contact->m_url);
  if (const char* inst = sip->sip_contact->m_params
                             ? msg_params_find(sip->sip_contact->m_params, "+sip.instance=")
                             : nullptr) {
    b.instance = normaliseInstance(inst).value_or("");
  }
  b.transport = source.transport;
  b.sourceHost = source.host;
  b.sourcePort = source.port;
  b.listener = source.listener;
  b.expires = clock_.now() + std::chrono::seconds(expires);
  b.callId = sip->sip_call_id->i_id;
  b.cseq = sip->sip_cseq->cs_seq;
  b.packages = {{package, formatFor(sip, package), false}};
  b.flow = std::make_shared<SipFlow>(resources_, source.tport);
  b.dialogId = dialogIdOf(sip, tag);
  b.dialogState = std::move(state);
  b.dialog = dialog;

  nta_incoming_tag(irq, tag);
  spdlog::info(
      "subscription added aor={} contact={} instance={} package={} via={} source={} expires={}",
      quoted(b.aor), quoted(b.contact), quoted(b.instance), package, toString(b.transport),
      b.sourceHostPort(), expires);
  if (Metrics* m = core_.metrics()) m->subscriptionChanged(Metrics::SubscriptionChange::Added);
  const std::uint64_t id = core_.storeBinding(std::move(b));
  // A fetch (Expires: 0): the state once, then the end.
  answerStored(irq, *core_.bindings().get(id), expires, expires == 0 ? "timeout" : "");
}

}  // namespace beckon::sip
