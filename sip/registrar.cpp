// RFC 3261 section 10.3, "Processing REGISTER Requests", step by step. Steps
// 1 (domain), 2 (Require), 5 (address of record), 6 (Contact and expiry), 7
// (Call-ID and CSeq, then update) and 8 (the 200 with every current binding)
// are here; 3 and 4 (authentication, authorization) arrive with digest.
#include "registrar.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <random>

#include "device_id.h"
#include "logfmt.h"
#include "metrics.h"
#include "push_params.h"

namespace beckon::sip {

namespace {

// RFC 5627 3.2: a temporary GRUU is opaque and unguessable.
std::string newTempGruu() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  char buf[40];
  std::snprintf(buf, sizeof buf, "tgruu.%016llx", static_cast<unsigned long long>(random()));
  return buf;
}

const char* paramValue(msg_param_t const* params, const char* name) {
  return params ? msg_params_find(params, name) : nullptr;
}

}  // namespace

std::vector<PackageSubscription> Registrar::subscriptionsFromAccept(sip_t const* sip) const {
  std::vector<PackageSubscription> subs;
  for (const std::string& package : config_.packages) {
    const std::string text = "application/" + package;
    const std::string xml = text + "+xml";
    // The first media type listed for the package sets the body format.
    bool listed = false;
    for (sip_accept_t const* ac = sip->sip_accept; ac && !listed; ac = ac->ac_next) {
      if (!ac->ac_type) continue;
      if (!strcasecmp(ac->ac_type, text.c_str()) || !strcasecmp(ac->ac_type, xml.c_str())) {
        const bool isXml = !strcasecmp(ac->ac_type, xml.c_str());
        subs.push_back({package, isXml ? BodyFormat::Xml : BodyFormat::Text, true});
        listed = true;
      }
    }
    const auto& every = config_.everyRegistration;
    if (!listed && std::find(every.begin(), every.end(), package) != every.end())
      subs.push_back({package, BodyFormat::Text, true});
  }
  return subs;
}

int Registrar::onRegister(nta_agent_t* agent, msg_t* msg, sip_t const* sip) {
  // Answered statelessly (no server transaction is kept): a retransmitted
  // REGISTER is handled again and answered the same (see step 7).
  const Source source = sourceOf(agent, msg);
  auto reply = [&](int status, const char* phrase, auto... tags) {
    nta_msg_treply(agent, msg, status, phrase, tags..., SIPTAG_SERVER_STR("beckon/" BECKON_VERSION),
                   TAG_END());
    if (Metrics* m = core_.metrics()) m->registerAnswered(status);
    return status;
  };

  // Step 2: we support no extension a client may require.
  if (sip->sip_require) {
    return reply(SIP_420_BAD_EXTENSION,
                 SIPTAG_UNSUPPORTED_STR(sip->sip_require->k_items && sip->sip_require->k_items[0]
                                            ? sip->sip_require->k_items[0]
                                            : ""));
  }

  // Step 5: the address of record is the To header field's URI, a SIP or
  // SIPS URI (another scheme is a bad request, RFC 4475 3.3.4).
  if (!sip->sip_to ||
      (sip->sip_to->a_url->url_type != url_sip && sip->sip_to->a_url->url_type != url_sips)) {
    return reply(400, "Bad Request (To must be a SIP or SIPS URI)");
  }
  const std::string toUri = sip->sip_to ? urlString(sip->sip_to->a_url) : "";
  const std::optional<std::string> aor = normaliseAor(toUri);
  if (!aor) return reply(404, "Not Found (To is not an address of record)");
  // Step 1: only the domain this registrar is responsible for.
  if (!config_.domain.empty() && aor->substr(aor->rfind('@') + 1) != config_.domain) {
    return reply(404, "Not Found (not this registrar's domain)");
  }
  // Steps 3 and 4: who is asking, and may they change this address of record.
  const auto decision = authorizer_.check(sip, directoryNumberOf(*aor), source.hostPort());
  if (decision.status) return reply(decision.status, decision.phrase, CHALLENGE_TAGS(decision));
  // [limits] aor_rate: this address of record's REGISTERs and SUBSCRIBEs.
  if (const auto wait = limits_.overRate("REGISTER", *aor, source.host, clock_.now())) {
    const std::string retry = std::to_string(*wait);
    return reply(503, "Service Unavailable (too many requests for this address of record)",
                 SIPTAG_RETRY_AFTER_STR(retry.c_str()));
  }

  // Step 6: Contacts, "*", and each binding's expiration interval.
  const unsigned headerExpires =
      sip->sip_expires ? sip->sip_expires->ex_delta : config_.defaultExpires;
  bool wildcard = false;
  std::size_t contacts = 0;
  for (sip_contact_t const* m = sip->sip_contact; m; m = m->m_next) {
    ++contacts;
    if (m->m_url->url_type == url_any) wildcard = true;
  }
  if (wildcard && (contacts != 1 || !sip->sip_expires || sip->sip_expires->ex_delta != 0)) {
    return reply(400, "Bad Request (\"*\" needs Expires: 0 and no other Contact)");
  }
  // [limits] sip_max_contacts: such a request would never be taken; 403 says
  // so (5xx would invite the same request again).
  if (contacts > limits_.limits().sipMaxContacts) {
    limits_.refused(Metrics::Limit::SipMaxContacts);
    const std::string phrase =
        "Forbidden (more than " + std::to_string(limits_.limits().sipMaxContacts) + " Contacts)";
    return reply(403, phrase.c_str());
  }

  const std::string callId = sip->sip_call_id ? sip->sip_call_id->i_id : "";
  const std::uint32_t cseq = sip->sip_cseq ? sip->sip_cseq->cs_seq : 0;
  const TimePoint now = clock_.now();
  const std::vector<PackageSubscription> packages = subscriptionsFromAccept(sip);

  std::vector<Binding> updates;
  std::vector<std::uint64_t> removals;
  // Step 7: an older CSeq on the same Call-ID fails; the same CSeq is this
  // very request again (a retransmission, answered without changing anything).
  auto outOfOrder = [&](const Binding& old) { return old.callId == callId && cseq < old.cseq; };
  bool retransmission = false;
  auto sameRequest = [&](const Binding& old) { return old.callId == callId && cseq == old.cseq; };

  if (wildcard) {
    for (const Binding* b : core_.bindings().byAor(*aor)) {
      if (b->explicitSubscription()) continue;  // "*" removes registrations only
      if (outOfOrder(*b)) return reply(500, "Server Internal Error (CSeq out of order)");
      retransmission = retransmission || sameRequest(*b);
      removals.push_back(b->id);
    }
  }

  std::shared_ptr<Flow> flow;
  // RFC 3327: the Path is the route set toward the device, kept with its bindings.
  std::vector<std::string> path;
  for (sip_path_t const* r = sip->sip_path; r; r = r->r_next) {
    std::string hop = "<" + urlString(r->r_url) + ">";
    for (msg_param_t const* p = r->r_params; p && *p; ++p)
      hop += std::string(";") + *p;
    path.push_back(std::move(hop));
  }
  const std::string featureCaps = featureCapsHeader(config_.pushProviders);
  bool askedPush = false;  // RFC 8599 4.2.1: the 2xx then carries Feature-Caps
  const bool gruu = sip_has_feature(sip->sip_supported, "gruu");
  const bool outbound = sip_has_feature(sip->sip_supported, "outbound");
  for (sip_contact_t const* m = wildcard ? nullptr : sip->sip_contact; m; m = m->m_next) {
    unsigned long expires = headerExpires;
    if (m->m_expires) {
      // delta-seconds = 1*DIGIT: anything else would have read as 0 (remove).
      const std::size_t digits = std::strspn(m->m_expires, "0123456789");
      if (digits == 0 || m->m_expires[digits] != '\0')
        return reply(400, "Bad Request (Contact expires is not a number of seconds)");
      expires = std::strtoul(m->m_expires, nullptr, 10);  // ULONG_MAX when longer: capped below
    }
    if (expires != 0 && expires < config_.minExpires) {
      const std::string min = std::to_string(config_.minExpires);
      return reply(SIP_423_INTERVAL_TOO_BRIEF, SIPTAG_MIN_EXPIRES_STR(min.c_str()));
    }
    expires = std::min<unsigned long>(expires, config_.maxExpires);
    // RFC 8599 4.2.1: a push service beckond cannot use is 555 (removing
    // such a binding is not refused).
    const ContactPush push = contactPush(m->m_url, config_.pushProviders);
    if (push.status && expires != 0) {
      return reply(push.status, push.phrase.c_str(),
                   TAG_IF(push.status == 555 && !featureCaps.empty(),
                          SIPTAG_HEADER_STR(featureCaps.c_str())));
    }
    askedPush = askedPush || push.named;

    Binding b;
    b.aor = *aor;
    b.contact = urlString(m->m_url);
    if (const char* inst = paramValue(m->m_params, "+sip.instance")) {
      b.instance = normaliseInstance(inst).value_or("");
    }
    // RFC 5626: with an instance, reg-id makes the binding a flow of its own.
    if (const char* regId = paramValue(m->m_params, "reg-id"); regId && !b.instance.empty()) {
      b.regId = regId;
    }
    b.path = path;
    b.transport = source.transport;
    b.sourceHost = source.host;
    b.sourcePort = source.port;
    b.listener = source.listener;
    b.expires = now + std::chrono::seconds(expires);
    b.callId = callId;
    b.cseq = cseq;
    b.q = m->m_q ? std::strtof(m->m_q, nullptr) : 1.0f;
    b.packages = packages;
    b.push = push.target;

    // Step 7: an existing binding is updated only by a newer request.
    if (const Binding* old = core_.bindings().sameBinding(b)) {
      if (outOfOrder(*old)) return reply(500, "Server Internal Error (CSeq out of order)");
      b.tempGruu = old->tempGruu;  // a refresh keeps its temporary GRUU
      retransmission = retransmission || sameRequest(*old);
      if (expires == 0) {
        removals.push_back(old->id);
        continue;
      }
    } else if (expires == 0) {
      continue;
    }
    if (gruu && !b.instance.empty() && b.tempGruu.empty()) b.tempGruu = newTempGruu();
    if (!flow) flow = std::make_shared<SipFlow>(resources_, source.tport);
    b.flow = flow;
    updates.push_back(std::move(b));
  }

  if (retransmission) {
    removals.clear();
    updates.clear();
  }
  // [limits] bindings_per_aor: new bindings only while there is room; a
  // refresh or a removal always goes through. Room comes back as bindings
  // expire: 503 with Retry-After until the first of them does.
  std::size_t added = 0;
  for (const Binding& b : updates)
    added += core_.bindings().sameBinding(b) ? 0 : 1;
  if (added > 0) {
    std::vector<TimePoint> expiries;
    for (const Binding* b : core_.bindings().byAor(*aor)) {
      if (!b->explicitSubscription()) expiries.push_back(b->expires);
    }
    const std::size_t after = expiries.size() + added - std::min(removals.size(), expiries.size());
    if (after > limits_.limits().bindingsPerAor) {
      limits_.refused(Metrics::Limit::BindingsPerAor);
      const std::string retry = std::to_string(retryAfterFirstExpiry(expiries, now).count());
      spdlog::warn("REGISTER aor={} source={}: {} bindings would pass limits.bindings_per_aor {}",
                   *aor, source.host, after, limits_.limits().bindingsPerAor);
      return reply(503, "Service Unavailable (too many bindings for this address of record)",
                   SIPTAG_RETRY_AFTER_STR(retry.c_str()));
    }
  }
  Metrics* metrics = core_.metrics();
  for (std::uint64_t id : removals) {
    if (const Binding* b = core_.bindings().get(id)) {
      spdlog::info(
          "registration removed binding={} aor={} contact={} instance={} source={} via={} by={}",
          id, quoted(b->aor), quoted(b->contact), quoted(b->instance), b->sourceHostPort(),
          toString(b->transport), source.host);
      if (metrics) metrics->bindingChanged(Metrics::BindingChange::Removed);
    }
    core_.removeBinding(id);
  }
  std::vector<std::uint64_t> stored;
  for (Binding& b : updates) {
    const Binding* old = core_.bindings().sameBinding(b);
    std::string subs;
    for (const auto& p : b.packages)
      subs += (subs.empty() ? "" : ",") + p.package;
    // A refresh that changes nothing but the expiry is routine (debug); one
    // that moves the binding (another source, transport, contact, path or
    // packages, or a dead flow back) is a change (info).
    const bool changed = !old || old->unreachable || old->sourceHost != b.sourceHost ||
                         old->sourcePort != b.sourcePort || old->transport != b.transport ||
                         old->contact != b.contact || old->path != b.path || old->push != b.push ||
                         !std::equal(old->packages.begin(), old->packages.end(), b.packages.begin(),
                                     b.packages.end(), [](const auto& x, const auto& y) {
                                       return x.package == y.package && x.format == y.format;
                                     });
    const char* what = !old ? "added" : changed ? "updated" : "refreshed";
    if (metrics) {
      metrics->bindingChanged(old ? Metrics::BindingChange::Refreshed
                                  : Metrics::BindingChange::Added);
    }
    const std::uint64_t id = core_.storeBinding(std::move(b));
    stored.push_back(id);
    const Binding& s = *core_.bindings().get(id);
    spdlog::log(changed ? spdlog::level::info : spdlog::level::debug,
                "registration {} binding={} aor={} contact={} instance={} via={} source={} "
                "expires={} packages={}",
                what, id, quoted(s.aor), quoted(s.contact), quoted(s.instance),
                toString(s.transport), s.sourceHostPort(),
                std::chrono::duration_cast<std::chrono::seconds>(s.expires - now).count(),
                quoted(subs));
  }

  // RFC 5626 6: a flow-registration is confirmed with Require: outbound and
  // told how often to send keep-alives.
  bool registeredFlow = false;
  for (sip_contact_t const* m = sip->sip_contact; m && outbound; m = m->m_next) {
    registeredFlow = registeredFlow || (paramValue(m->m_params, "reg-id") &&
                                        paramValue(m->m_params, "+sip.instance"));
  }
  const bool echoPath = !path.empty() && sip_has_feature(sip->sip_supported, "path");
  // Step 8 once the change is stored (a retransmission too: its first copy
  // may still be on its way to the disk). Nothing is acknowledged before.
  // The answer leaves over the transport the request came on, which nta
  // knows only while it delivers the request: keep it.
  std::shared_ptr<msg_t> request(msg, msg_destroy);
  if (!flow) flow = std::make_shared<SipFlow>(resources_, source.tport);
  const std::string caps = askedPush ? featureCaps : std::string();
  core_.afterCommit([this, agent, request, flow, aor = *aor, now, gruu, registeredFlow, echoPath,
                     caps, stored = std::move(stored)](bool committed) {
    msg_t* msg = msg_ref_create(request.get());
    tport_t* tport = static_cast<const SipFlow&>(*flow).transport();
    Metrics* metrics = core_.metrics();
    if (!committed) {
      nta_msg_treply(agent, msg, 500, "Server Internal Error (the binding could not be stored)",
                     TAG_IF(tport, NTATAG_TPORT(tport)), SIPTAG_RETRY_AFTER_STR("5"),
                     SIPTAG_SERVER_STR("beckon/" BECKON_VERSION), TAG_END());
      if (metrics) metrics->registerAnswered(500);
      return;
    }
    sip_t const* sip = sip_object(msg);
    Home home;
    // Step 8: 200 OK listing every current binding with its remaining time.
    std::string list;
    for (const Binding* b : core_.bindings().byAor(aor)) {
      if (b->explicitSubscription()) continue;
      const auto left = std::chrono::duration_cast<std::chrono::seconds>(b->expires - now).count();
      if (!list.empty()) list += ", ";
      list += "<" + b->contact + ">;expires=" + std::to_string(std::max<long long>(0, left));
      if (!b->instance.empty()) list += ";+sip.instance=\"<" + b->instance + ">\"";
      if (!b->regId.empty()) list += ";reg-id=" + b->regId;
      // RFC 5627 5.2: the GRUUs of a binding with an instance id.
      if (gruu && !b->instance.empty()) {
        const std::string host = b->aor.substr(b->aor.rfind('@') + 1);
        list += ";pub-gruu=\"" + b->aor + ";gr=" + b->instance + "\"";
        if (!b->tempGruu.empty()) list += ";temp-gruu=\"sip:" + b->tempGruu + "@" + host + ";gr\"";
      }
    }
    nta_msg_treply(agent, msg, SIP_200_OK, TAG_IF(!list.empty(), SIPTAG_CONTACT_STR(list.c_str())),
                   TAG_IF(echoPath, SIPTAG_PATH(sip->sip_path)),
                   TAG_IF(registeredFlow, SIPTAG_REQUIRE_STR("outbound")),
                   TAG_IF(registeredFlow, SIPTAG_HEADER_STR("Flow-Timer: 120")),
                   TAG_IF(!caps.empty(), SIPTAG_HEADER_STR(caps.c_str())),
                   SIPTAG_DATE(sip_date_create(home.get(), sip_now())),
                   TAG_IF(tport, NTATAG_TPORT(tport)), SIPTAG_SERVER_STR("beckon/" BECKON_VERSION),
                   TAG_END());
    if (metrics) metrics->registerAnswered(200);
    // Then the requests waiting for these bindings: their NOTIFYs follow the 200.
    for (std::uint64_t id : stored)
      core_.reachWaiting(id);
  });
  return 200;
}

}  // namespace beckon::sip
