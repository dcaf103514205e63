// The application servers' entry to the core, safe to call from any thread
// (the SOAP workers): validates, applies the caller's rights, hands the work
// to the core's thread through the Executor, and waits for the outcome.
#pragma once

#include <memory>
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

 private:
  // Runs `work` on the core's thread and waits for its result; `durable`:
  // and for the store to commit what it changed.
  template <class F>
  auto onCore(F work, bool durable = false) -> decltype(work());

  Core& core_;
  Executor& executor_;
  std::unique_ptr<Policy> ownPolicy_;
  Policy& policy_;
};

}  // namespace beckon
