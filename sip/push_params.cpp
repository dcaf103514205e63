#include "push_params.h"

#include <strings.h>

#include <algorithm>
#include <string_view>

#include "body.h"

namespace beckon::sip {

namespace {

// Longer than any token a push service hands out (an FCM token is ~160
// bytes, a Web Push endpoint a few hundred): bounds what a REGISTER stores.
constexpr std::size_t kMaxValue = 2048;

struct Param {
  bool present = false;
  std::string value;  // unescaped
};

// The uri-parameters of a SIP URI (RFC 3261 19.1.1, ";name=value" each),
// the first of each name.
Param findParam(const char* params, std::string_view name) {
  Param out;
  std::string_view rest = params ? params : "";
  while (!rest.empty()) {
    const std::size_t end = rest.find(';');
    const std::string_view item = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    const std::size_t eq = item.find('=');
    const std::string_view key = item.substr(0, eq);
    if (key.size() != name.size() || strncasecmp(key.data(), name.data(), key.size()) != 0)
      continue;
    out.present = true;
    if (eq != std::string_view::npos) {
      const std::string escaped(item.substr(eq + 1));
      out.value.resize(escaped.size());
      out.value.resize(url_unescape_to(out.value.data(), escaped.c_str(), escaped.size()));
    }
    return out;
  }
  return out;
}

ContactPush refuse(int status, std::string phrase) {
  ContactPush p;
  p.status = status;
  p.phrase = std::move(phrase);
  return p;
}

}  // namespace

ContactPush contactPush(url_t const* contact, const std::vector<std::string>& providers) {
  const char* params = contact ? contact->url_params : nullptr;
  const Param provider = findParam(params, "pn-provider");
  const Param prid = findParam(params, "pn-prid");
  const Param param = findParam(params, "pn-param");
  ContactPush out;
  if (!provider.present) {
    // 8.7: pn-prid and pn-param say something only about a pn-provider.
    if (prid.present || param.present)
      return refuse(400, "Bad Request (pn-prid or pn-param without pn-provider)");
    return out;
  }
  for (const auto& [name, p] : {std::pair{"pn-provider", &provider}, std::pair{"pn-prid", &prid},
                                std::pair{"pn-param", &param}}) {
    if (!p->present) continue;
    if (p->value.size() > kMaxValue)
      return refuse(400, std::string("Bad Request (") + name + " is too long)");
    try {
      checkBodyValue(name, p->value);
    } catch (const InvalidField& e) {
      return refuse(400, std::string("Bad Request (") + e.what() + ")");
    }
  }
  // 4.2.1: "If the proxy does not support the PNS ... the proxy MUST reject
  // the REGISTER request with a 555 (Push Notification Service Not
  // Supported) response".
  const auto configured = std::find_if(providers.begin(), providers.end(), [&](const auto& name) {
    return name.size() == provider.value.size() &&
           strncasecmp(name.data(), provider.value.data(), name.size()) == 0;
  });
  if (configured == providers.end()) return refuse(555, "Push Notification Service Not Supported");
  out.named = true;
  if (prid.present) out.target = PushTarget{*configured, prid.value, param.value};
  return out;
}

std::string featureCapsHeader(const std::vector<std::string>& providers) {
  if (providers.empty()) return "";
  std::string list;
  for (const auto& p : providers)
    list += (list.empty() ? "" : ",") + p;
  return "Feature-Caps: *;+sip.pns=\"" + list + "\"";
}

}  // namespace beckon::sip
