// The encodings both stores share: wire bytes in JSON, times in ms, a
// binding's packages and dialog, a request's parameters and deliveries, the
// proxy's dialog keys.
#include "codec.h"

#include <algorithm>

#include "sqlite_store.h"  // StoreError
#include "utf8.h"

namespace beckon::store::codec {

// Strings from the wire are bytes (notifier/utf8.h). In a JSON column, text
// that is UTF-8 is a JSON string, and anything else nlohmann's binary value,
// written {"bytes":[...],"subtype":null}: readable where it can be, and
// byte for byte what the device sent either way.
json wireJson(std::string_view s) {
  if (validUtf8(s)) return std::string(s);
  return json::binary(std::vector<std::uint8_t>(s.begin(), s.end()));
}

std::string wire(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  const json& bytes = v.at("bytes");  // throws for anything else: the record does not decode
  std::string out;
  out.reserve(bytes.size());
  for (const json& b : bytes)
    out.push_back(static_cast<char>(b.get<std::uint8_t>()));
  return out;
}

std::string wire(const json& j, const char* key) {
  const auto it = j.find(key);
  return it == j.end() ? std::string() : wire(*it);
}

json wireJson(const std::vector<std::string>& list) {
  json out = json::array();
  for (const std::string& s : list)
    out.push_back(wireJson(s));
  return out;
}

std::vector<std::string> wireList(const json& j, const char* key) {
  std::vector<std::string> out;
  if (const auto it = j.find(key); it != j.end()) {
    for (const json& v : *it)
      out.push_back(wire(v));
  }
  return out;
}

std::int64_t ms(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// A stored time, clamped to what a TimePoint (nanoseconds) can hold: a
// damaged or hand-made row must not overflow.
TimePoint at(std::int64_t ms) {
  using std::chrono::milliseconds;
  const auto limit = std::chrono::duration_cast<milliseconds>(TimePoint::duration::max()).count();
  ms = std::clamp<std::int64_t>(ms, -limit, limit);
  return TimePoint{std::chrono::duration_cast<TimePoint::duration>(milliseconds(ms))};
}

Transport transportOf(std::string_view s) {
  return s == "tls" ? Transport::Tls : s == "tcp" ? Transport::Tcp : Transport::Udp;
}

RequestState stateOf(std::string_view s) {
  for (RequestState st : {RequestState::Queued, RequestState::Notifying, RequestState::Delivered,
                          RequestState::Failed, RequestState::Expired, RequestState::Cancelled}) {
    if (s == toString(st)) return st;
  }
  throw StoreError("a request has an unknown state '" + std::string(s) + "'");
}

// "package;text|xml;implicit|explicit", comma separated: package names are
// SIP tokens (RFC 6665 8.2.1), which hold neither ';' nor ','.
std::string encodePackages(const std::vector<PackageSubscription>& packages) {
  std::string out;
  for (const auto& p : packages) {
    if (!out.empty()) out += ',';
    out += p.package + (p.format == BodyFormat::Xml ? ";xml" : ";text") +
           (p.implicit ? ";implicit" : ";explicit");
  }
  return out;
}

std::vector<PackageSubscription> decodePackages(std::string_view s) {
  std::vector<PackageSubscription> out;
  while (!s.empty()) {
    const std::string_view entry = s.substr(0, s.find(','));
    s.remove_prefix(std::min(s.size(), entry.size() + 1));
    const auto a = entry.find(';'), b = entry.rfind(';');
    if (a == std::string_view::npos || a == b) continue;
    out.push_back({std::string(entry.substr(0, a)),
                   entry.substr(a + 1, b - a - 1) == "xml" ? BodyFormat::Xml : BodyFormat::Text,
                   entry.substr(b + 1) == "implicit"});
  }
  return out;
}

std::string encodeDialog(const Binding& b) {
  if (!b.explicitSubscription()) return "";
  const DialogState& d = b.dialogState;
  return json{{"local", wireJson(d.local)},
              {"remote", wireJson(d.remote)},
              {"target", wireJson(d.target)},
              {"routeSet", wireJson(d.routeSet)},
              {"localCseq", d.localCseq}}
      .dump();
}

DialogState decodeDialog(std::string_view s) {
  DialogState d;
  if (s.empty()) return d;
  const json j = json::parse(s);
  d.local = wire(j, "local");
  d.remote = wire(j, "remote");
  d.target = wire(j, "target");
  d.routeSet = wireList(j, "routeSet");
  d.localCseq = j.value("localCseq", 0u);
  return d;
}

// Objects are filled key by key: nlohmann's initializer lists copy every
// value twice, and these run for every write of a request. A parameter left
// at its default is not written (decodeParams() restores it): smaller rows,
// more of them a page.
std::string encodeParams(const ContactMeParams& p) {
  json j = json::object();
  j["deviceId"] = wireJson(p.deviceId);
  j["requestId"] = wireJson(p.requestId);
  auto text = [&](const char* key, const std::string& value) {
    if (!value.empty()) j[key] = wireJson(value);
  };
  text("server", p.server);
  if (p.port) j["port"] = *p.port;
  text("protocol", p.protocol);
  text("path", p.path);
  if (!p.alternateServers.empty()) j["alternateServers"] = wireJson(p.alternateServers);
  text("function", p.function);
  text("timeSlot", p.timeSlot);
  text("package", p.package);
  if (p.queueSeconds) j["queueSeconds"] = p.queueSeconds;
  if (p.waitMs != kDefaultWaitMs) j["waitMs"] = p.waitMs;
  text("onBehalfOf", p.onBehalfOf);
  return j.dump();
}

ContactMeParams decodeParams(const json& j) {
  ContactMeParams p;
  p.deviceId = wire(j.at("deviceId"));
  p.requestId = wire(j.at("requestId"));
  p.server = wire(j, "server");
  if (j.contains("port") && !j["port"].is_null()) p.port = j["port"].get<std::uint16_t>();
  p.protocol = wire(j, "protocol");
  p.path = wire(j, "path");
  p.alternateServers = wireList(j, "alternateServers");
  p.function = wire(j, "function");
  p.timeSlot = wire(j, "timeSlot");
  p.package = wire(j, "package");
  p.queueSeconds = j.value("queueSeconds", 0u);
  p.waitMs = j.value("waitMs", kDefaultWaitMs);
  p.onBehalfOf = wire(j, "onBehalfOf");
  return p;
}

std::string encodeDeliveries(const std::vector<Delivery>& deliveries) {
  json out = json::array();
  for (const Delivery& d : deliveries) {
    json& j = out.emplace_back(json::object());
    j["bindingId"] = d.bindingId;
    j["contact"] = wireJson(d.contact);
    j["transport"] = toString(d.transport);
    j["sipStatus"] = d.sipStatus;
    j["reason"] = wireJson(d.reason);
    j["at"] = ms(d.at);
    j["inFlight"] = d.inFlight;
  }
  return out.dump();
}

std::string encodeRefusedBy(const std::vector<std::uint64_t>& ids) {
  return ids.empty() ? "[]" : json(ids).dump();
}

std::vector<Delivery> decodeDeliveries(const json& j) {
  std::vector<Delivery> out;
  for (const json& d : j) {
    out.push_back({d.at("bindingId").get<std::uint64_t>(), wire(d, "contact"),
                   transportOf(d.value("transport", "udp")), d.value("sipStatus", 0),
                   wire(d, "reason"), at(d.value("at", std::int64_t{0})),
                   d.value("inFlight", false)});
  }
  return out;
}

// [{"generation":1,"secret":"<64 hex digits>","created":<ms>}, ...]
std::string encodeKeys(const std::vector<DialogKey>& keys) {
  static constexpr char hex[] = "0123456789abcdef";
  json out = json::array();
  for (const DialogKey& k : keys) {
    std::string secret;
    for (unsigned char c : k.secret) {
      secret += hex[c >> 4];
      secret += hex[c & 15];
    }
    json& j = out.emplace_back(json::object());
    j["generation"] = k.generation;
    j["secret"] = secret;
    j["created"] = ms(k.created);
  }
  return out.dump();
}

std::vector<DialogKey> decodeKeys(std::string_view s) {
  std::vector<DialogKey> keys;
  for (const json& j : json::parse(s)) {
    DialogKey k;
    k.generation = j.at("generation").get<std::uint32_t>();
    k.created = at(j.at("created").get<std::int64_t>());
    const std::string secret = j.at("secret").get<std::string>();
    auto digit = [](char c) {
      return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    };
    for (std::size_t i = 0; i < k.secret.size(); ++i) {
      const int hi = i * 2 + 1 < secret.size() ? digit(secret[2 * i]) : -1;
      const int lo = hi >= 0 ? digit(secret[2 * i + 1]) : -1;
      if (lo < 0 || secret.size() != 2 * k.secret.size())
        throw StoreError("a dialog key is not 64 hex digits");
      k.secret[i] = static_cast<unsigned char>(hi << 4 | lo);
    }
    keys.push_back(k);
  }
  return keys;
}

}  // namespace beckon::store::codec
