#include "b2bua.h"

#include <spdlog/spdlog.h>

#include "call.h"
#include "metrics.h"

namespace beckon::sip::b2bua {

B2bua::B2bua(const ProxyConfig& config, Proxy& proxy, Core& core, nta_agent_t* agent)
    : config_(config), proxy_(proxy), core_(core), agent_(agent) {}

B2bua::~B2bua() {
  while (!calls_.empty())
    calls_.begin()->first->shutdown();  // ends it: moved to ended_
  ended_.clear();
}

bool B2bua::handles(const ProxyUser* user) const {
  return (user && user->mode ? *user->mode : config_.mode) == CallMode::B2bua;
}

Metrics* B2bua::metrics() const {
  return core_.metrics();
}

void B2bua::onInvite(msg_t* msg, sip_t* sip, const Source& source,
                     std::vector<TargetGroup> groups) {
  // RFC 3261 8.2.2.3: nothing a caller may Require is supported here (no
  // 100rel yet): 420 naming them.
  if (sip->sip_require) {
    std::string unsupported;
    for (const char* const* k = sip->sip_require->k_items; k && *k; ++k)
      unsupported += (unsupported.empty() ? "" : ", ") + std::string(*k);
    nta_msg_treply(agent_, msg, SIP_420_BAD_EXTENSION,
                   TAG_IF(!unsupported.empty(), SIPTAG_UNSUPPORTED_STR(unsupported.c_str())),
                   SIPTAG_SERVER_STR("beckon/" BECKON_VERSION), TAG_END());
    return;
  }
  if (calls_.size() >= config_.b2bua.maxCalls) {
    if (Metrics* m = metrics()) m->limitRefused(Metrics::Limit::B2buaMaxCalls);
    spdlog::warn("b2bua: {} calls up, b2bua.max_calls {}: 503", calls_.size(),
                 config_.b2bua.maxCalls);
    nta_msg_treply(agent_, msg, 503, "Service Unavailable (b2bua.max_calls)",
                   SIPTAG_RETRY_AFTER_STR("5"), SIPTAG_SERVER_STR("beckon/" BECKON_VERSION),
                   TAG_END());
    return;
  }
  auto owned = std::make_unique<Call>(*this, nextId_++);
  Call* call = owned.get();
  calls_.emplace(call, std::move(owned));
  call->start(msg, sip, source, std::move(groups));
}

void B2bua::ended(Call* call) {
  auto it = calls_.find(call);
  if (it == calls_.end()) return;
  ended_.push_back(std::move(it->second));
  calls_.erase(it);
}

void B2bua::tick() {
  ended_.clear();
  std::vector<Call*> live;
  live.reserve(calls_.size());
  for (auto& [call, owned] : calls_)
    live.push_back(call);
  for (Call* call : live) {
    if (calls_.count(call)) call->tick();
  }
}

}  // namespace beckon::sip::b2bua
