#include "notify_sender.h"

#include <cstring>
#include <strings.h>

#include "flow.h"

namespace beckon::sip {

struct PendingNotify {
  NtaNotifySender* sender;
  nta_outgoing_t* orq = nullptr;
  su_timer_t* timer = nullptr;
  std::function<void(const NotifyOutcome&)> done;
};

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
    std::string& c = contact_[static_cast<int>(t)];
    if (!c.empty()) continue;
    const bool v6 = std::strchr(v->v_host, ':') != nullptr;
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

  // Where the device really is: its own connection for TCP/TLS; for UDP the
  // source address of its REGISTER, never the (private) address in its Contact.
  tport_t* connection = nullptr;
  std::string route;
  if (binding.transport == Transport::Udp) {
    route = "sip:" + binding.sourceHostPort() + ";transport=udp";
  } else {
    const auto* flow = dynamic_cast<const SipFlow*>(binding.flow.get());
    connection = flow ? flow->connection() : nullptr;
    if (!connection || tport_is_closed(connection)) {
      return done({503, "the device's connection is closed"});
    }
  }

  auto* p = new PendingNotify{this, nullptr, nullptr, std::move(done)};
  const std::string from = "<sip:beckon@" + binding.aor.substr(binding.aor.rfind('@') + 1) + ">";
  const std::string to = "<" + binding.aor + ">";
  p->orq = nta_outgoing_tcreate(
      leg_, &NtaNotifySender::onResponse, p,
      route.empty() ? nullptr : URL_STRING_MAKE(route.c_str()), SIP_METHOD_NOTIFY,
      URL_STRING_MAKE(binding.contact.c_str()), TAG_IF(connection, NTATAG_TPORT(connection)),
      SIPTAG_FROM_STR(from.c_str()), SIPTAG_TO_STR(to.c_str()),
      SIPTAG_CONTACT_STR(contact_[static_cast<int>(binding.transport)].c_str()),
      SIPTAG_EVENT_STR(notify.package.c_str()),
      SIPTAG_SUBSCRIPTION_STATE_STR(notify.subscriptionState.c_str()),
      SIPTAG_CONTENT_TYPE_STR(notify.contentType.c_str()), SIPTAG_PAYLOAD_STR(notify.body.c_str()),
      TAG_END());
  if (!p->orq) {
    auto cb = std::move(p->done);
    delete p;
    return cb({503, "the NOTIFY could not be sent"});
  }
  pending_.insert(p);
  p->timer = su_timer_create(su_root_task(root_), static_cast<su_duration_t>(timeout_.count()));
  if (p->timer) su_timer_set(p->timer, &NtaNotifySender::onTimeout, p);
}

int NtaNotifySender::onResponse(PendingNotify* p, nta_outgoing_t* orq, sip_t const* sip) {
  const int status = nta_outgoing_status(orq);
  if (status < 200) return 0;
  const char* phrase = sip && sip->sip_status ? sip->sip_status->st_phrase : nullptr;
  p->sender->complete(p, status, phrase ? phrase : "");
  return 0;
}

void NtaNotifySender::onTimeout(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
  auto* p = static_cast<PendingNotify*>(arg);
  const auto ms = p->sender->timeout_.count();
  p->sender->complete(p, 408, "no final answer within " + std::to_string(ms) + " ms");
}

void NtaNotifySender::complete(PendingNotify* p, int status, std::string reason) {
  auto done = std::move(p->done);
  discard(p);
  done({status, std::move(reason)});
}

void NtaNotifySender::discard(PendingNotify* p) {
  pending_.erase(p);
  if (p->timer) su_timer_destroy(p->timer);
  if (p->orq) nta_outgoing_destroy(p->orq);
  delete p;
}

}  // namespace beckon::sip
