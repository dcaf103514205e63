#include "forking.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace beckon::sip {

const char* toString(ForkMode mode) {
  switch (mode) {
    case ForkMode::Parallel:
      return "parallel";
    case ForkMode::Sequential:
      return "sequential";
    case ForkMode::QValue:
      return "q";
  }
  return "q";
}

std::optional<ForkMode> forkModeFrom(std::string_view name) {
  if (name == "parallel") return ForkMode::Parallel;
  if (name == "sequential") return ForkMode::Sequential;
  if (name == "q") return ForkMode::QValue;
  return std::nullopt;
}

const char* toString(CallMode mode) {
  return mode == CallMode::B2bua ? "b2bua" : "proxy";
}

std::optional<CallMode> callModeFrom(std::string_view name) {
  if (name == "proxy") return CallMode::Proxy;
  if (name == "b2bua") return CallMode::B2bua;
  return std::nullopt;
}

std::vector<std::vector<std::size_t>> forkPlan(ForkMode mode, const std::vector<float>& qValues) {
  std::vector<std::vector<std::size_t>> plan;
  if (qValues.empty()) return plan;
  std::vector<std::size_t> order(qValues.size());
  std::iota(order.begin(), order.end(), 0);
  // q has at most three decimals (RFC 3261 25.1, "qvalue").
  auto milli = [&](std::size_t i) { return std::lround(qValues[i] * 1000.0f); };
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return milli(a) > milli(b); });
  switch (mode) {
    case ForkMode::Parallel:
      plan.push_back(std::move(order));
      break;
    case ForkMode::Sequential:
      for (std::size_t i : order)
        plan.push_back({i});
      break;
    case ForkMode::QValue:
      for (std::size_t i : order) {
        if (plan.empty() || milli(plan.back().front()) != milli(i)) plan.emplace_back();
        plan.back().push_back(i);
      }
      break;
  }
  return plan;
}

std::size_t bestResponse(const std::vector<int>& statuses) {
  // "If there are any 6xx responses ... the proxy MUST choose a 6xx".
  for (std::size_t i = 0; i < statuses.size(); ++i) {
    if (statuses[i] >= 600) return i;
  }
  // "...the proxy SHOULD choose from the response in the lowest response class".
  int lowest = 7;
  for (int s : statuses)
    lowest = std::min(lowest, s / 100);
  // "...SHOULD give preference to 401, 407, 415, 420 and 484 if 4xx".
  if (lowest == 4) {
    for (int preferred : {401, 407, 415, 420, 484}) {
      for (std::size_t i = 0; i < statuses.size(); ++i) {
        if (statuses[i] == preferred) return i;
      }
    }
  }
  for (std::size_t i = 0; i < statuses.size(); ++i) {
    if (statuses[i] / 100 == lowest) return i;
  }
  return 0;
}

bool isSipUri(std::string_view uri) {
  std::string_view rest;
  if (uri.rfind("sip:", 0) == 0) {
    rest = uri.substr(4);
  } else if (uri.rfind("sips:", 0) == 0) {
    rest = uri.substr(5);
  } else {
    return false;
  }
  const auto at = rest.find('@');
  const std::string_view host = at == std::string_view::npos ? rest : rest.substr(at + 1);
  if (host.empty() || (at != std::string_view::npos && at == 0)) return false;
  const char first = host.front();
  if (first == ';' || first == ':' || first == '?' || first == '>') return false;
  return std::none_of(uri.begin(), uri.end(), [](char c) {
    return c == ' ' || c == '<' || c == '>' || c == '"' || static_cast<unsigned char>(c) < 0x21;
  });
}

}  // namespace beckon::sip
