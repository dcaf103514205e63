#include "service.h"

#include <chrono>
#include <condition_variable>
#include <exception>
#include <future>
#include <memory>
#include <mutex>

#include "metrics.h"

namespace beckon {

namespace {

// How long a caller waits for the core's thread to take its work at all
// before it answers Unavailable (the SIP thread is stalled or stopping).
constexpr std::chrono::seconds kAcceptTimeout{5};

struct Pending {
  std::mutex mutex;
  std::condition_variable changed;
  bool accepted = false;
  bool committed = false;  // the store has it (or there is no store)
  bool stored = false;     // and the commit succeeded
  bool late = false;       // the caller's wait is past its deadline
  std::exception_ptr error;
  ContactStatus status;

  // What the caller waits for until its deadline.
  bool answered() const { return error || (accepted && committed && status.settled); }
  // Makes a change. The caller is woken only when what it waits for has
  // come (a wake-up costs a context switch), and after the mutex is free:
  // woken while it is held, the caller would only block on it again.
  template <class F>
  void change(F f) {
    bool wake = false;
    {
      std::lock_guard lock(mutex);
      f();
      wake = late || answered();
    }
    if (wake) changed.notify_all();
  }
};

void checkRequestId(const std::string& requestId) {
  ContactMeParams p;
  p.deviceId = "0";
  p.requestId = requestId;
  validate(p, {kDefaultPackage});
}

}  // namespace

ContactService::ContactService(Core& core, Executor& executor, Policy* policy)
    : core_(core),
      executor_(executor),
      ownPolicy_(policy ? nullptr
                        : std::make_unique<Policy>(std::vector<AppServerRights>{},
                                                   core.config().packages)),
      policy_(policy ? *policy : *ownPolicy_) {}

template <class F>
auto ContactService::onCore(F work, bool durable) -> decltype(work()) {
  using R = decltype(work());
  auto promise = std::make_shared<std::promise<R>>();
  auto result = promise->get_future();
  const bool posted = executor_.post([this, promise, durable, work = std::move(work)]() mutable {
    try {
      R value = work();
      if (!durable) return promise->set_value(std::move(value));
      // A change is answered only once it is stored.
      core_.whenCommitted([promise, value = std::move(value)](bool committed) mutable {
        if (committed) return promise->set_value(std::move(value));
        promise->set_exception(std::make_exception_ptr(
            Fault(FaultCode::Unavailable, "the change could not be stored")));
      });
    } catch (...) {
      promise->set_exception(std::current_exception());
    }
  });
  if (!posted) throw Fault(FaultCode::Unavailable, "beckond is not running its SIP core");
  if (result.wait_for(kAcceptTimeout) != std::future_status::ready) {
    throw Fault(FaultCode::Unavailable, "the SIP core did not answer in time");
  }
  try {
    return result.get();
  } catch (const std::future_error&) {  // dropped while beckond stops
    throw Fault(FaultCode::Unavailable, "beckond is stopping");
  }
}

// app_server.rate: Overloaded past it, counted in /metrics.
void ContactService::checkRate(const Caller& caller) {
  try {
    policy_.checkRate(caller.name);
  } catch (const Fault&) {
    if (Metrics* metrics = core_.metrics()) metrics->limitRefused(Metrics::Limit::AppServerRate);
    throw;
  }
}

ContactStatus ContactService::contactMe(const Caller& caller, const ContactMeParams& params) {
  validate(params, core_.config().packages);
  checkRate(caller);
  const AppServerRights& as = policy_.actingAs(caller.name, params.onBehalfOf);
  policy_.checkContactMe(as, params);
  if (relay_ && !knownHere(params.deviceId)) {
    if (auto status = relay_(caller, params)) return *status;
  }
  return contactMeLocal(Caller{as.name}, params);
}

bool ContactService::knownHere(const std::string& deviceId) {
  return onCore([this, deviceId] { return !core_.device(deviceId).empty(); });
}

std::optional<ContactStatus> ContactService::contactMeHere(const Caller& caller,
                                                           const ContactMeParams& params) {
  validate(params, core_.config().packages);
  const AppServerRights& as = policy_.actingAs(caller.name, params.onBehalfOf);
  policy_.checkContactMe(as, params);
  if (!knownHere(params.deviceId)) return std::nullopt;
  return contactMeLocal(Caller{as.name}, params);
}

ContactStatus ContactService::contactMeLocal(const Caller& owner, const ContactMeParams& params) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(params.waitMs);
  auto pending = std::make_shared<Pending>();
  const bool posted = executor_.post([this, pending, owner, params] {
    std::exception_ptr error;
    try {
      core_.contactMe(owner, params, [pending](const ContactStatus& s) {
        pending->change([&] { pending->status = s; });
      });
      // Acknowledged only once stored: nothing acknowledged is lost.
      core_.whenCommitted([pending](bool stored) {
        pending->change([&] {
          pending->committed = true;
          pending->stored = stored;
        });
      });
    } catch (...) {
      error = std::current_exception();
    }
    pending->change([&] {
      pending->error = error;
      pending->accepted = true;
    });
  });
  if (!posted) throw Fault(FaultCode::Unavailable, "beckond is not running its SIP core");

  // The settled status by the deadline; past it, the status as it is, once
  // the request is taken and stored.
  std::unique_lock lock(pending->mutex);
  if (!pending->changed.wait_until(lock, deadline, [&] { return pending->answered(); })) {
    pending->late = true;
    pending->changed.wait_for(lock, kAcceptTimeout, [&] {
      return pending->error || (pending->accepted && pending->committed);
    });
  }
  if (!pending->accepted) {
    throw Fault(FaultCode::Unavailable, "the SIP core did not take the request in time");
  }
  if (pending->error) std::rethrow_exception(pending->error);
  if (!pending->committed)
    throw Fault(FaultCode::Unavailable, "the request was not stored in time");
  if (!pending->stored) throw Fault(FaultCode::Unavailable, "the request could not be stored");
  return pending->status;
}

ContactStatus ContactService::getContactRequest(const Caller& caller, const std::string& requestId,
                                                const std::string& onBehalfOf) {
  checkRequestId(requestId);
  checkRate(caller);
  const Caller owner{policy_.actingAs(caller.name, onBehalfOf).name};
  return onCore([this, owner, requestId] { return core_.status(owner, requestId); });
}

ContactStatus ContactService::cancelContactRequest(const Caller& caller,
                                                   const std::string& requestId,
                                                   const std::string& onBehalfOf) {
  checkRequestId(requestId);
  checkRate(caller);
  const Caller owner{policy_.actingAs(caller.name, onBehalfOf).name};
  return onCore([this, owner, requestId] { return core_.cancel(owner, requestId); }, true);
}

std::vector<Binding> ContactService::getDevice(const Caller& caller, const std::string& deviceId) {
  if (deviceId.empty() || lookupKeys(deviceId).empty()) {
    throw Fault(FaultCode::InvalidArgument,
                "deviceId: not an instance id, MAC, address of record or number");
  }
  checkRate(caller);
  policy_.checkGetDevice(caller.name);
  auto bindings = onCore([this, deviceId] { return core_.device(deviceId); });
  if (deviceRelay_) {
    for (Binding& b : deviceRelay_(caller, deviceId))
      bindings.push_back(std::move(b));
  }
  if (bindings.empty())
    throw Fault(FaultCode::UnknownDevice, "no binding of '" + deviceId + "' is known");
  return bindings;
}

std::vector<Binding> ContactService::getDeviceHere(const Caller& caller,
                                                   const std::string& deviceId) {
  if (deviceId.empty() || lookupKeys(deviceId).empty()) return {};
  policy_.checkGetDevice(caller.name);
  return onCore([this, deviceId] { return core_.device(deviceId); });
}

}  // namespace beckon
