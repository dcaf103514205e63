// Sends the contact-me NOTIFYs (contract: "The NOTIFY") as nta client
// transactions over each binding's own flow, and answers a device's digest
// challenge once with the credentials configured for it.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <unordered_set>
#include <vector>

#include "binding.h"
#include "device_id.h"
#include "ports.h"
#include "sofia.h"

namespace beckon {
class Metrics;
}

namespace beckon::sip {

struct PendingNotify;

// Credentials for a device's 401/407 to a NOTIFY: for one device (any of its
// ids), for a realm, or both. Device-specific ones are tried first.
struct NotifyCredential {
  std::string realm;              // empty: any realm
  std::vector<DeviceKey> device;  // empty: any device
  std::string user;
  std::string password;
};

class NtaNotifySender final : public NotifySender {
 public:
  // `timeout`: how long a NOTIFY waits for its final response before it
  // counts as 408 (shorter than nta's Timer F when configured so).
  explicit NtaNotifySender(std::chrono::milliseconds timeout,
                           std::vector<NotifyCredential> credentials = {});
  ~NtaNotifySender() override;

  // On the SIP thread: start and stop using the agent.
  void attach(su_root_t* root, nta_agent_t* agent, nta_leg_t* leg);
  void detach();  // drops pending NOTIFYs without answers (shutdown)

  void send(const Binding& binding, const OutgoingNotify& notify,
            std::function<void(const NotifyOutcome&)> done) override;

  // On the SIP thread (SIGHUP): NOTIFYs already sent keep the credentials
  // they started with.
  void setCredentials(std::vector<NotifyCredential> credentials);
  // Before the SIP thread starts: outcomes, round trips and NOTIFYs in flight.
  void setMetrics(Metrics* metrics) { metrics_ = metrics; }

  std::size_t pending() const { return pending_.size(); }
  // Our Contact toward a binding: of the transport and address family it uses.
  const std::string& contactFor(const Binding& b) const {
    const bool v6 = b.sourceHost.find(':') != std::string::npos;
    const std::string& c = contact_[static_cast<int>(b.transport)][v6];
    return c.empty() ? contact_[static_cast<int>(b.transport)][!v6] : c;
  }

 private:
  static int onResponse(PendingNotify* p, nta_outgoing_t* orq, sip_t const* sip);
  static void onTimeout(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg);
  // Sends (again, after a challenge: same dialog identifiers, next CSeq).
  bool transmit(PendingNotify* p, const Binding& b, const OutgoingNotify& n,
                sip_t const* challenge);
  bool answerChallenge(PendingNotify* p, int status, sip_t const* sip);
  void complete(PendingNotify* p, int status, std::string reason);
  void discard(PendingNotify* p);

  std::chrono::milliseconds timeout_;
  std::vector<NotifyCredential> credentials_;
  Metrics* metrics_ = nullptr;
  su_root_t* root_ = nullptr;
  nta_agent_t* agent_ = nullptr;
  nta_leg_t* leg_ = nullptr;
  std::unordered_set<PendingNotify*> pending_;
  std::string
      contact_[3][2];  // our Contact for each Transport and IPv4/IPv6, from the agent's transports
};

}  // namespace beckon::sip
