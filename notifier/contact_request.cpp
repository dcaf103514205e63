#include "contact_request.h"

#include <algorithm>
#include <cctype>

#include "body.h"
#include "device_id.h"
#include "fault.h"

namespace beckon {

namespace {

[[noreturn]] void invalid(const std::string& field, const std::string& why) {
  throw Fault(FaultCode::InvalidArgument, field + ": " + why);
}

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isAlnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

// RFC 3261 token.
bool isToken(const std::string& s) {
  static const std::string extra = "-.!%*_+`'~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return isAlnum(c) || extra.find(c) != std::string::npos;
  });
}

bool isIpv4(std::string_view s) {
  int parts = 0;
  while (true) {
    std::size_t n = 0;
    int value = 0;
    while (n < s.size() && isDigit(s[n]) && n < 3)
      value = value * 10 + (s[n++] - '0');
    if (n == 0 || value > 255) return false;
    ++parts;
    s.remove_prefix(n);
    if (s.empty()) return parts == 4;
    if (s.front() != '.' || parts == 4) return false;
    s.remove_prefix(1);
  }
}

bool isHostname(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  if (s.back() == '.') s.remove_suffix(1);
  std::size_t label = 0;
  char prev = '.';
  for (char c : s) {
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else if (isAlnum(c) || c == '-') {
      if (label == 0 && c == '-') return false;
      if (++label > 63) return false;
    } else {
      return false;
    }
    prev = c;
  }
  return label > 0 && prev != '-';
}

bool isIpv6Reference(std::string_view s) {
  if (s.size() < 4 || s.front() != '[' || s.back() != ']') return false;
  s = s.substr(1, s.size() - 2);
  return std::all_of(s.begin(), s.end(),
                     [](char c) {
                       return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
                     }) &&
         s.find(':') != std::string_view::npos;
}

// RFC 3261 hostport: host [ ":" port ]. Returns whether a port was present.
bool checkHostport(const std::string& field, const std::string& value) {
  std::string_view host = value;
  std::string_view port;
  bool hasPort = false;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos) invalid(field, "unterminated IPv6 reference");
    const std::string_view rest = host.substr(close + 1);
    host = host.substr(0, close + 1);
    if (!isIpv6Reference(host)) invalid(field, "not an IPv6 reference");
    if (!rest.empty()) {
      if (rest.front() != ':') invalid(field, "not host or host:port");
      port = rest.substr(1);
      hasPort = true;
    }
  } else {
    if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
      hasPort = true;
    }
    if (!isIpv4(host) && !isHostname(host))
      invalid(field, "not an IPv4 address, [IPv6] or host name");
  }
  if (hasPort) {
    const bool digits =
        !port.empty() && port.size() <= 5 && std::all_of(port.begin(), port.end(), isDigit);
    const unsigned long n = digits ? std::stoul(std::string(port)) : 0;
    if (n == 0 || n > 65535) invalid(field, "port must be 1-65535");
  }
  return hasPort;
}

void checkTimeSlot(const std::string& v) {
  // ISO 8601 time interval: start/end, start/duration or duration/end.
  const auto slash = v.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == v.size() ||
      v.find('/', slash + 1) != std::string::npos) {
    invalid("timeSlot", "not an ISO 8601 interval (start/end, start/duration or duration/end)");
  }
  auto part = [](std::string_view p) {
    return !p.empty() && (isDigit(p.front()) || p.front() == 'P');
  };
  if (!part(std::string_view(v).substr(0, slash)) || !part(std::string_view(v).substr(slash + 1))) {
    invalid("timeSlot", "not an ISO 8601 interval (start/end, start/duration or duration/end)");
  }
  checkBodyValue("timeSlot", v);
}

}  // namespace

static void validateFields(const ContactMeParams& p, const std::vector<std::string>& packages);

const char* toString(RequestState s) {
  switch (s) {
    case RequestState::Queued:
      return "queued";
    case RequestState::Notifying:
      return "notifying";
    case RequestState::Delivered:
      return "delivered";
    case RequestState::Failed:
      return "failed";
    case RequestState::Expired:
      return "expired";
    case RequestState::Cancelled:
      return "cancelled";
  }
  return "?";
}

bool ContactMeParams::sameContent(const ContactMeParams& o) const {
  return deviceId == o.deviceId && requestId == o.requestId && server == o.server &&
         port == o.port && protocol == o.protocol && path == o.path &&
         alternateServers == o.alternateServers && function == o.function &&
         timeSlot == o.timeSlot && package == o.package && queueSeconds == o.queueSeconds &&
         onBehalfOf == o.onBehalfOf;
}

std::string serverLine(const ContactMeParams& p) {
  if (p.server.empty() || !p.port) return p.server;
  return p.server + ":" + std::to_string(*p.port);
}

void validate(const ContactMeParams& p, const std::vector<std::string>& packages) {
  try {
    validateFields(p, packages);
  } catch (const InvalidField& e) {
    throw Fault(FaultCode::InvalidArgument, e.what());
  }
}

static void validateFields(const ContactMeParams& p, const std::vector<std::string>& packages) {
  if (p.deviceId.empty()) invalid("deviceId", "required");
  if (p.deviceId.size() > 256) invalid("deviceId", "longer than 256 characters");
  checkBodyValue("deviceId", p.deviceId);
  if (lookupKeys(p.deviceId).empty())
    invalid("deviceId", "not an instance id, MAC, address of record or number");

  if (p.requestId.empty() || p.requestId.size() > 128)
    invalid("requestId", "must be 1-128 characters");
  static const std::string idChars = "._~:-";
  for (char c : p.requestId) {
    if (!isAlnum(c) && idChars.find(c) == std::string::npos) {
      invalid("requestId", "only A-Z a-z 0-9 . _ ~ : - are allowed");
    }
  }

  if (!p.server.empty()) {
    checkBodyValue("server", p.server);
    const bool hasPort = checkHostport("server", p.server);
    if (hasPort && p.port) invalid("port", "server already carries a port");
  }
  if (p.port) {
    if (p.server.empty()) invalid("port", "given without server");
    if (*p.port == 0) invalid("port", "must be 1-65535");
  }
  if (!p.protocol.empty() && (!isToken(p.protocol) || p.protocol.size() > 32)) {
    invalid("protocol", "must be a token such as http or https");
  }
  if (!p.path.empty()) {
    if (p.path.front() != '/') invalid("path", "must be an absolute path (start with /)");
    checkBodyValue("path", p.path);
  }
  if (p.alternateServers.size() > kMaxAlternateServers) {
    invalid("alternateServer", "at most 8 are allowed");
  }
  for (const auto& alt : p.alternateServers) {
    checkBodyValue("alternateServer", alt);
    checkHostport("alternateServer", alt);
  }
  if (!p.function.empty() && (!isToken(p.function) || p.function.size() > 64)) {
    invalid("function", "must be a token");
  }
  if (!p.timeSlot.empty()) checkTimeSlot(p.timeSlot);
  const std::string package = p.package.empty() ? kDefaultPackage : p.package;
  if (!isToken(package)) invalid("package", "must be a token");
  if (std::find(packages.begin(), packages.end(), package) == packages.end()) {
    invalid("package", "'" + package + "' is not a package of this server");
  }
  if (p.waitMs > kMaxWaitMs) invalid("waitMs", "at most 30000");
  if (p.queueSeconds > kMaxQueueSeconds) invalid("queueSeconds", "at most 604800 (7 days)");
}

}  // namespace beckon
