// The application servers' entry to the core, safe to call from any thread
// (the SOAP workers): validates, applies the caller's rights, hands the work
// to the core's thread through the Executor, and waits for the outcome.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "contact_request.h"
#include "core.h"
#include "policy.h"
#include "ports.h"

namespace beckon {

class ContactService {
 public:
  // Without a policy, every caller is the one open application server
  // "local" (no application servers configured: loopback clients only).
  ContactService(Core& core, Executor& executor, Policy* policy = nullptr);

  // All throw Fault. `caller.name` is the authenticated application server.
  // ContactMe answers when the request settles or waitMs has passed,
  // whichever is first, with the status at that moment.
  ContactStatus contactMe(const Caller& caller, const ContactMeParams& params);
  ContactStatus getContactRequest(const Caller& caller, const std::string& requestId,
                                  const std::string& onBehalfOf = "");
  ContactStatus cancelContactRequest(const Caller& caller, const std::string& requestId,
                                     const std::string& onBehalfOf = "");
  // UnknownDevice when no binding answers to the id.
  std::vector<Binding> getDevice(const Caller& caller, const std::string& deviceId);

  Policy& policy() { return policy_; }

  // A cluster (docs/cluster.md): a ContactMe for a device without a binding
  // here is offered to the other nodes first; the relay answers with the
  // status from the node that holds the device's flow, or nullopt when none
  // does (then it is handled here: queued or UnknownDevice).
  using Relay = std::function<std::optional<ContactStatus>(const Caller&, const ContactMeParams&)>;
  void setRelay(Relay relay) { relay_ = std::move(relay); }
  // And GetDevice shows the device's bindings on the other nodes too.
  using DeviceRelay =
      std::function<std::vector<Binding>(const Caller&, const std::string& deviceId)>;
  void setDeviceRelay(DeviceRelay relay) { deviceRelay_ = std::move(relay); }
  // What a relayed GetDevice runs: this node's bindings of the device only.
  std::vector<Binding> getDeviceHere(const Caller& caller, const std::string& deviceId);
  // What a relayed ContactMe runs: as contactMe(), but only for a device
  // with a binding here (nullopt otherwise), and never relayed again.
  std::optional<ContactStatus> contactMeHere(const Caller& caller, const ContactMeParams& params);

 private:
  void checkRate(const Caller& caller);
  bool knownHere(const std::string& deviceId);
  ContactStatus contactMeLocal(const Caller& owner, const ContactMeParams& params);
  // Runs `work` on the core's thread and waits for its result; `durable`:
  // and for the store to commit what it changed.
  template <class F>
  auto onCore(F work, bool durable = false) -> decltype(work());

  Core& core_;
  Executor& executor_;
  std::unique_ptr<Policy> ownPolicy_;
  Policy& policy_;
  Relay relay_;
  DeviceRelay deviceRelay_;
};

}  // namespace beckon
