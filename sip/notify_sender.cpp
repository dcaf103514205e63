#include "notify_sender.h"

#include "boundary.h"

#include <sofia-sip/auth_client.h>
#include <spdlog/spdlog.h>
#include <strings.h>

#include <algorithm>
#include <cstring>

#include "binding_table.h"
#include "flow.h"
#include "metrics.h"

namespace beckon::sip {

struct PendingNotify {
  explicit PendingNotify(NtaNotifySender* s) : sender(s) { su_home_init(home); }
  ~PendingNotify() { su_home_deinit(home); }
  PendingNotify(const PendingNotify&) = delete;
  PendingNotify& operator=(const PendingNotify&) = delete;

  NtaNotifySender* sender;
  nta_outgoing_t* orq = nullptr;
  su_timer_t* timer = nullptr;
  std::function<void(const NotifyOutcome&)> done;
  Binding binding;  // kept to send again after a challenge
  OutgoingNotify notify;
  su_home_t home[1] = {SU_HOME_INIT(home)};
  auth_client_t* auth = nullptr;
  bool challenged = false;
  bool kept = false;        // binding and notify hold copies (a challenge can be answered)
  bool forRequest = false;  // a contact request's NOTIFY (else a subscription's state)
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

NtaNotifySender::NtaNotifySender(std::chrono::milliseconds timeout,
                                 std::vector<NotifyCredential> credentials)
    : timeout_(timeout) {
  setCredentials(std::move(credentials));
}

void NtaNotifySender::setCredentials(std::vector<NotifyCredential> credentials) {
  credentials_ = std::move(credentials);
  // Credentials for one device before credentials for a whole realm.
  std::stable_partition(credentials_.begin(), credentials_.end(),
                        [](const NotifyCredential& c) { return !c.device.empty(); });
}

NtaNotifySender::~NtaNotifySender() {
  detach();
}

void NtaNotifySender::attach(su_root_t* root, nta_agent_t* agent, nta_leg_t* leg) {
  root_ = root;
  agent_ = agent;
  leg_ = leg;
  // Our Contact in a NOTIFY names the transport it goes over.
  for (sip_via_t const* v = nta_agent_via(agent); v; v = v->v_next) {
    const char* proto = sip_via_transport(v);
    const Transport t = !strcasecmp(proto, "TCP")   ? Transport::Tcp
                        : !strcasecmp(proto, "TLS") ? Transport::Tls
                                                    : Transport::Udp;
    const bool family6 = std::strchr(v->v_host, ':') != nullptr;
    std::string& c = contact_[static_cast<int>(t)][family6];
    if (!c.empty()) continue;
    // An IPv6 host may come bracketed already ("[::1]").
    const bool v6 = std::strchr(v->v_host, ':') != nullptr && v->v_host[0] != '[';
    c = std::string("<sip:") + (v6 ? "[" : "") + v->v_host + (v6 ? "]" : "") +
        (v->v_port ? std::string(":") + v->v_port : "") + ";transport=" + toString(t) + ">";
  }
}

void NtaNotifySender::detach() {
  while (!pending_.empty())
    discard(*pending_.begin());
  root_ = nullptr;
  agent_ = nullptr;
  leg_ = nullptr;
}

void NtaNotifySender::send(const Binding& binding, const OutgoingNotify& notify,
                           std::function<void(const NotifyOutcome&)> done) {
  if (!agent_) return done({503, "SIP core not running"});
  auto* p = new PendingNotify(this);
  p->done = std::move(done);
  p->forRequest = !notify.requestId.empty();
  if (!credentials_.empty()) {  // kept only when a challenge could be answered
    p->binding = binding;
    p->notify = notify;
    p->kept = true;
  }
  if (!transmit(p, binding, notify, nullptr)) {
    auto cb = std::move(p->done);
    if (metrics_) metrics_->notifyAnswered(p->forRequest, 503, std::chrono::seconds(0));
    delete p;
    const bool closed = binding.transport != Transport::Udp;
    return cb({503, closed ? "the device's connection is closed" : "the NOTIFY could not be sent",
               closed});
  }
  pending_.insert(p);
  if (metrics_) metrics_->notifiesInFlight(pending_.size());
}

bool NtaNotifySender::transmit(PendingNotify* p, const Binding& b, const OutgoingNotify& n,
                               sip_t const* challenge) {
  // Where the device really is: its own connection for TCP/TLS; for UDP the
  // source address of its REGISTER, never the (private) address in its Contact.
  const auto* flow = dynamic_cast<const SipFlow*>(b.flow.get());
  tport_t* connection = nullptr;
  std::string route;
  if (b.transport == Transport::Udp) {
    route = "sip:" + b.sourceHostPort() + ";transport=udp";
    // From the socket the REGISTER arrived at (nta picks it by its ident).
    connection = flow ? flow->transport() : nullptr;
  } else {
    connection = flow ? flow->connection() : nullptr;
    if (!connection || tport_is_closed(connection)) return false;
  }

  const url_string_t* hop = route.empty() ? nullptr : URL_STRING_MAKE(route.c_str());
  // After a challenge: the credentials, and the next CSeq (RFC 3261 22.2).
  msg_header_t* authorization = nullptr;
  if (challenge) {
    url_t* uri = url_hdup(p->home, URL_STRING_MAKE(b.contact.c_str())->us_url);
    if (auc_authorization_headers(&p->auth, p->home, "NOTIFY", uri, nullptr, &authorization) < 0 ||
        !authorization) {
      return false;
    }
  }
  auto* auth = reinterpret_cast<sip_header_t*>(authorization);
  if (const auto* dialog = dynamic_cast<const SipDialog*>(b.dialog.get())) {
    // Inside the subscription's dialog: the leg gives the request URI, From,
    // To, Call-ID, route set and the next CSeq.
    if (!dialog->leg()) return false;
    p->orq = nta_outgoing_tcreate(
        dialog->leg(), &NtaNotifySender::onResponse, p, hop, SIP_METHOD_NOTIFY, nullptr,
        TAG_IF(connection, NTATAG_TPORT(connection)), SIPTAG_CONTACT_STR(contactFor(b).c_str()),
        SIPTAG_EVENT_STR(n.package.c_str()),
        SIPTAG_SUBSCRIPTION_STATE_STR(n.subscriptionState.c_str()),
        SIPTAG_CONTENT_TYPE_STR(n.contentType.c_str()), SIPTAG_PAYLOAD_STR(n.body.c_str()),
        TAG_IF(auth, SIPTAG_HEADER(auth)), TAG_END());
  } else {
    // Outside a dialog (implicit subscription); after a challenge the same
    // From tag and Call-ID.
    const std::string from = "<sip:beckon@" + b.aor.substr(b.aor.rfind('@') + 1) + ">";
    const std::string to = "<" + b.aor + ">";
    const std::string cseq =
        challenge ? std::to_string(challenge->sip_cseq->cs_seq + 1) + " NOTIFY" : "";
    // RFC 3327: the Path of the REGISTER is the route set toward the device
    // (still sent over the flow the REGISTER came on: that is the first hop).
    std::string routeSet;
    for (const auto& step : b.path)
      routeSet += (routeSet.empty() ? "" : ", ") + step;
    p->orq = nta_outgoing_tcreate(
        leg_, &NtaNotifySender::onResponse, p, hop, SIP_METHOD_NOTIFY,
        URL_STRING_MAKE(b.contact.c_str()), TAG_IF(connection, NTATAG_TPORT(connection)),
        TAG_IF(!challenge, SIPTAG_FROM_STR(from.c_str())),
        TAG_IF(challenge, SIPTAG_FROM(challenge ? challenge->sip_from : nullptr)),
        TAG_IF(challenge, SIPTAG_CALL_ID(challenge ? challenge->sip_call_id : nullptr)),
        TAG_IF(challenge, SIPTAG_CSEQ_STR(cseq.c_str())), SIPTAG_TO_STR(to.c_str()),
        TAG_IF(!routeSet.empty(), SIPTAG_ROUTE_STR(routeSet.c_str())),
        SIPTAG_CONTACT_STR(contactFor(b).c_str()), SIPTAG_EVENT_STR(n.package.c_str()),
        SIPTAG_SUBSCRIPTION_STATE_STR(n.subscriptionState.c_str()),
        SIPTAG_CONTENT_TYPE_STR(n.contentType.c_str()), SIPTAG_PAYLOAD_STR(n.body.c_str()),
        TAG_IF(auth, SIPTAG_HEADER(auth)), TAG_END());
  }
  if (!p->orq) return false;
  if (p->timer) su_timer_destroy(p->timer);
  p->timer = su_timer_create(su_root_task(root_), static_cast<su_duration_t>(timeout_.count()));
  if (p->timer) su_timer_set(p->timer, &NtaNotifySender::onTimeout, p);
  return true;
}

bool NtaNotifySender::answerChallenge(PendingNotify* p, int status, sip_t const* sip) {
  if (credentials_.empty() || !p->kept) {
    spdlog::warn(
        "notify: a {} challenge, and no [[notify_credentials]] were configured when it "
        "was sent",
        status);
    return false;
  }
  if (p->challenged || !sip || !sip->sip_cseq) return false;
  p->challenged = true;
  msg_auth_t const* challenge =
      status == 401 ? sip->sip_www_authenticate : sip->sip_proxy_authenticate;
  msg_hclass_t* kind = status == 401 ? sip_authorization_class : sip_proxy_authorization_class;
  if (!challenge || auc_challenge(&p->auth, p->home, challenge, kind) < 0) return false;
  for (const NotifyCredential& c : credentials_) {
    if (!c.device.empty() && !names(c.device, p->binding)) continue;
    const std::string realm = "\"" + c.realm + "\"";  // Sofia keeps the realm quoted
    if (auc_all_credentials(&p->auth, nullptr, c.realm.empty() ? nullptr : realm.c_str(),
                            c.user.c_str(), c.password.c_str()) > 0) {
      spdlog::debug("notify request={} contact={}: answering a {} challenge as {}",
                    p->notify.requestId, p->binding.contact, status, c.user);
      // The challenge lives in the old transaction's response: send the new
      // request first, then let the old transaction go.
      nta_outgoing_t* challenged = p->orq;
      p->orq = nullptr;
      const bool sent = transmit(p, p->binding, p->notify, sip);
      nta_outgoing_destroy(challenged);
      return sent;
    }
  }
  spdlog::warn("notify request={} contact={}: {} challenge and no credentials for it",
               p->notify.requestId, p->binding.contact, status);
  return false;
}

// An exception in these ends here (boundary.h); the NOTIFY is then left to
// its timer, which reports it as not answered.
int NtaNotifySender::onResponse(PendingNotify* p, nta_outgoing_t* orq, sip_t const* sip) {
  guarded(
      Boundary::SipResponse,
      [&] {
        const int status = nta_outgoing_status(orq);
        if (status < 200) return;
        if ((status == 401 || status == 407) && p->sender->answerChallenge(p, status, sip)) return;
        const char* phrase = sip && sip->sip_status ? sip->sip_status->st_phrase : nullptr;
        p->sender->complete(p, status, phrase ? phrase : "");
      },
      [&] { return logKeys(sip); });
  return 0;
}

void NtaNotifySender::onTimeout(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
  auto* p = static_cast<PendingNotify*>(arg);
  guarded(Boundary::SipTimer, [p] {
    const auto ms = p->sender->timeout_.count();
    p->sender->complete(p, 408, "no final answer within " + std::to_string(ms) + " ms");
  });
}

void NtaNotifySender::complete(PendingNotify* p, int status, std::string reason) {
  if (metrics_) {
    metrics_->notifyAnswered(p->forRequest, status, std::chrono::steady_clock::now() - p->started);
  }
  auto done = std::move(p->done);
  discard(p);
  done({status, std::move(reason)});
}

void NtaNotifySender::discard(PendingNotify* p) {
  pending_.erase(p);
  if (metrics_) metrics_->notifiesInFlight(pending_.size());
  if (p->timer) su_timer_destroy(p->timer);
  if (p->orq) nta_outgoing_destroy(p->orq);
  delete p;
}

}  // namespace beckon::sip
