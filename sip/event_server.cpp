#include "event_server.h"

#include <spdlog/spdlog.h>
#include <strings.h>

#include <algorithm>

#include "device_id.h"

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
  const std::string exp = std::to_string(expires);
  reply(irq, SIP_200_OK, SIPTAG_EXPIRES_STR(exp.c_str()),
        SIPTAG_CONTACT_STR(sender_.contactFor(*b).c_str()));
  if (expires == 0) {  // 4.2.1.4: unsubscribing
    core_.endSubscription(b->id, "timeout");
    return;
  }
  Binding updated = *b;
  updated.expires = clock_.now() + std::chrono::seconds(expires);
  updated.cseq = sip->sip_cseq->cs_seq;
  spdlog::info("subscription refreshed aor={} contact={} expires={}s", updated.aor, updated.contact,
               expires);
  // 4.2.2: a NOTIFY with the current state after every accepted SUBSCRIBE:
  // the pending requests, each in its own NOTIFY, or "state: idle".
  const std::size_t pending = core_.waitingFor(updated, updated.packages.at(0).package);
  const std::uint64_t id = core_.upsertBinding(std::move(updated));
  if (pending == 0) core_.notifyIdle(id);
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
  nta_leg_t* leg = nta_leg_tcreate(agent, dialogCallback_, magic_, SIPTAG_CALL_ID(sip->sip_call_id),
                                   SIPTAG_FROM(sip->sip_to), SIPTAG_TO(sip->sip_from), TAG_END());
  if (!leg) {
    reply(irq, SIP_500_INTERNAL_SERVER_ERROR);
    return;
  }
  const char* tag = nta_leg_tag(leg, nullptr);
  nta_leg_server_route(leg, sip->sip_record_route, sip->sip_contact);
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
  b.expires = clock_.now() + std::chrono::seconds(expires);
  b.callId = sip->sip_call_id->i_id;
  b.cseq = sip->sip_cseq->cs_seq;
  b.packages = {{package, formatFor(sip, package), false}};
  b.flow = std::make_shared<SipFlow>(resources_, source.tport);
  b.dialogId = dialogIdOf(sip, tag);
  b.dialog = dialog;

  const std::string exp = std::to_string(expires);
  nta_incoming_tag(irq, tag);
  reply(irq, SIP_200_OK, SIPTAG_EXPIRES_STR(exp.c_str()),
        SIPTAG_CONTACT_STR(sender_.contactFor(b).c_str()));
  spdlog::info(
      "subscription added aor={} contact={} instance={} package={} via={} source={} expires={}s",
      b.aor, b.contact, b.instance.empty() ? "-" : b.instance, package, toString(b.transport),
      b.sourceHostPort(), expires);
  const std::size_t pending = expires == 0 ? 0 : core_.waitingFor(b, package);
  const std::uint64_t id = core_.upsertBinding(std::move(b));
  if (expires == 0) {  // a fetch: the state once, then the end
    core_.endSubscription(id, "timeout");
  } else if (pending == 0) {
    core_.notifyIdle(id);
  }
}

}  // namespace beckon::sip
