#include "device_id.h"

#include <algorithm>
#include <cctype>

namespace beckon {

namespace {

bool isHex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool startsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && lower(s.substr(0, prefix.size())) == prefix;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// Removes one pair of surrounding quotes, then one pair of angle brackets.
std::string_view unwrap(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = trim(s.substr(1, s.size() - 2));
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = trim(s.substr(1, s.size() - 2));
  return s;
}

}  // namespace

const char* toString(DeviceIdKind kind) {
  switch (kind) {
    case DeviceIdKind::Instance:
      return "instance";
    case DeviceIdKind::Mac:
      return "mac";
    case DeviceIdKind::Aor:
      return "aor";
    case DeviceIdKind::DirectoryNumber:
      return "number";
    case DeviceIdKind::TempGruu:
      return "temp-gruu";
  }
  return "?";
}

std::optional<std::string> normaliseMac(std::string_view text) {
  text = trim(text);
  std::string hex;
  if (text.size() == 12) {
    hex = text;
  } else if (text.size() == 17) {
    const char sep = text[2];
    if (sep != ':' && sep != '-') return std::nullopt;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (i % 3 == 2) {
        if (text[i] != sep) return std::nullopt;
      } else {
        hex += text[i];
      }
    }
  } else {
    return std::nullopt;
  }
  if (!std::all_of(hex.begin(), hex.end(), isHex)) return std::nullopt;
  return lower(hex);
}

std::optional<std::string> normaliseInstance(std::string_view text) {
  std::string_view urn = unwrap(text);
  if (!startsWithNoCase(urn, "urn:")) return std::nullopt;
  const auto nidEnd = urn.find(':', 4);
  if (nidEnd == std::string_view::npos || nidEnd == 4 || nidEnd + 1 >= urn.size()) {
    return std::nullopt;
  }
  for (char c : urn) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == '"' || c == '<' || c == '>') {
      return std::nullopt;
    }
  }
  std::string nid = lower(urn.substr(4, nidEnd - 4));
  std::string nss(urn.substr(nidEnd + 1));
  if (nid == "uuid") nss = lower(nss);
  if (nid == "dev" && startsWithNoCase(nss, "mac:")) nss = lower(nss);
  return "urn:" + nid + ":" + nss;
}

std::optional<std::string> macOfInstance(std::string_view instance) {
  constexpr std::string_view kMac = "urn:dev:mac:";
  constexpr std::string_view kUuid = "urn:uuid:";
  if (instance.starts_with(kMac)) return normaliseMac(instance.substr(kMac.size()));
  if (instance.starts_with(kUuid)) {
    // xxxxxxxx-xxxx-Vxxx-yxxx-nnnnnnnnnnnn: version 1 (time-based) UUIDs carry
    // the MAC in the node field (RFC 4122 4.1.6).
    std::string_view u = instance.substr(kUuid.size());
    if (u.size() != 36 || u[8] != '-' || u[13] != '-' || u[18] != '-' || u[23] != '-') {
      return std::nullopt;
    }
    if (u[14] != '1') return std::nullopt;
    return normaliseMac(u.substr(24));
  }
  return std::nullopt;
}

std::optional<std::string> normaliseAor(std::string_view uri) {
  std::string_view s = unwrap(uri);
  // A display name before <...>: keep what is inside the brackets.
  if (const auto lt = s.find('<'); lt != std::string_view::npos) {
    const auto gt = s.find('>', lt);
    if (gt == std::string_view::npos) return std::nullopt;
    s = s.substr(lt + 1, gt - lt - 1);
  }
  std::string_view rest;
  if (startsWithNoCase(s, "sip:")) {
    rest = s.substr(4);
  } else if (startsWithNoCase(s, "sips:")) {
    rest = s.substr(5);
  } else {
    return std::nullopt;
  }
  const auto at = rest.rfind('@');
  if (at == std::string_view::npos || at == 0) return std::nullopt;
  std::string_view user = rest.substr(0, at);
  // A password or user parameters belong to the user part only up to ';' or ':'.
  if (const auto colon = user.find(':'); colon != std::string_view::npos)
    user = user.substr(0, colon);
  std::string_view hostport = rest.substr(at + 1);
  hostport = hostport.substr(0, hostport.find_first_of(";?>"));
  if (user.empty() || hostport.empty()) return std::nullopt;
  // No white space or controls, and none of the delimiters of a name-addr
  // (they cannot be in a SIP URI unescaped, and the result must normalise to itself).
  for (char c : rest.substr(0, at + 1 + hostport.size())) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == '"')
      return std::nullopt;
  }
  return "sip:" + std::string(user) + "@" + lower(hostport);
}

std::string directoryNumberOf(std::string_view aor) {
  std::string_view s = aor;
  if (s.starts_with("sip:")) s.remove_prefix(4);
  return std::string(s.substr(0, s.rfind('@')));
}

std::vector<DeviceKey> lookupKeys(std::string_view deviceId) {
  std::vector<DeviceKey> keys;
  const std::string_view id = trim(deviceId);
  if (id.empty()) return keys;
  const std::string_view unwrapped = unwrap(id);
  if (startsWithNoCase(unwrapped, "urn:")) {
    if (auto inst = normaliseInstance(id)) {
      keys.push_back({DeviceIdKind::Instance, *inst});
      if (auto mac = macOfInstance(*inst)) keys.push_back({DeviceIdKind::Mac, *mac});
    }
    return keys;
  }
  if (startsWithNoCase(unwrapped, "sip:") || startsWithNoCase(unwrapped, "sips:")) {
    auto aor = normaliseAor(id);
    if (!aor) return keys;
    // A GRUU names one device: "gr=<instance>" (public) or a bare "gr" (temporary).
    const std::string_view uri = unwrapped;
    const auto params = uri.find(';', uri.find('@'));
    for (std::size_t at = params; at != std::string_view::npos;) {
      const auto next = uri.find(';', at + 1);
      const std::string_view param =
          uri.substr(at + 1, next == std::string_view::npos ? next : next - at - 1);
      if (param == "gr") {
        keys.push_back({DeviceIdKind::TempGruu, directoryNumberOf(*aor)});
        return keys;
      }
      if (startsWithNoCase(param, "gr=")) {
        // The instance in a GRUU is escaped (RFC 5627: "<" and ">" as %3C %3E):
        // undone once, %XX with two hex digits only (anything else stays).
        const std::string_view escaped = param.substr(3);
        std::string value;
        for (std::size_t i = 0; i < escaped.size(); ++i) {
          if (escaped[i] == '%' && i + 2 < escaped.size() && isHex(escaped[i + 1]) &&
              isHex(escaped[i + 2])) {
            value +=
                static_cast<char>(std::stoi(std::string(escaped.substr(i + 1, 2)), nullptr, 16));
            i += 2;
          } else {
            value += escaped[i];
          }
        }
        if (auto inst = normaliseInstance(value)) keys.push_back({DeviceIdKind::Instance, *inst});
        return keys;
      }
      at = next;
    }
    keys.push_back({DeviceIdKind::Aor, *aor});
    return keys;
  }
  if (auto mac = normaliseMac(id)) {
    keys.push_back({DeviceIdKind::Mac, *mac});
    if (id.size() == 12) keys.push_back({DeviceIdKind::DirectoryNumber, std::string(id)});
    return keys;
  }
  keys.push_back({DeviceIdKind::DirectoryNumber, std::string(id)});
  return keys;
}

}  // namespace beckon
