#include "sip_uri.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace beckon {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
  });
  return out;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %HH undone; a '%' not followed by two hex digits is kept as it is.
std::string unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hexValue(s[i + 1]), lo = hexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

struct SipUri {
  std::string scheme;    // lower case
  std::string userinfo;  // unescaped, case kept
  bool hasUserinfo = false;
  std::string host;  // lower case, unescaped
  std::string port;  // as written, "" if absent
  Pairs params;      // name and value lower case, unescaped; value "" if none
  Pairs headers;     // the same
};

// name[=value] items split at `sep`, unescaped, lower case (RFC 3261 19.1.4:
// everything but the userinfo compares case-insensitively).
Pairs items(std::string_view s, char sep) {
  Pairs out;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    const std::string_view item = s.substr(start, end - start);
    if (!item.empty()) {
      const std::size_t eq = item.find('=');
      std::string name = lower(unescape(item.substr(0, eq)));
      std::string value = eq == std::string_view::npos ? "" : unescape(item.substr(eq + 1));
      out.emplace_back(std::move(name), lower(value));
    }
    start = end + 1;
  }
  return out;
}

std::optional<SipUri> parse(std::string_view text) {
  SipUri u;
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  u.scheme = lower(text.substr(0, colon));
  if (u.scheme != "sip" && u.scheme != "sips") return std::nullopt;
  std::string_view rest = text.substr(colon + 1);
  // userinfo may hold ';' and '?' (RFC 3261 25.1 user-unreserved) but no '@'.
  if (const std::size_t at = rest.find('@'); at != std::string_view::npos) {
    u.hasUserinfo = true;
    u.userinfo = unescape(rest.substr(0, at));
    rest = rest.substr(at + 1);
  }
  std::string_view headers;
  if (const std::size_t q = rest.find('?'); q != std::string_view::npos) {
    headers = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view params;
  if (const std::size_t semi = rest.find(';'); semi != std::string_view::npos) {
    params = rest.substr(semi + 1);
    rest = rest.substr(0, semi);
  }
  // hostport: an IPv6 reference in brackets holds ':'.
  std::string_view host = rest;
  if (!rest.empty() && rest.front() == '[') {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = rest.substr(0, close + 1);
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return std::nullopt;
    if (!rest.empty()) u.port = std::string(rest.substr(1));
  } else if (const std::size_t pc = rest.rfind(':'); pc != std::string_view::npos) {
    host = rest.substr(0, pc);
    u.port = std::string(rest.substr(pc + 1));
  }
  if (host.empty()) return std::nullopt;
  u.host = lower(unescape(host));
  u.params = items(params, ';');
  u.headers = items(headers, '&');
  return u;
}

const std::string* find(const Pairs& pairs, const std::string& name) {
  for (const auto& [n, v] : pairs)
    if (n == name) return &v;
  return nullptr;
}

bool paramsEqual(const Pairs& a, const Pairs& b) {
  static constexpr std::string_view kMustMatch[] = {"user", "ttl", "method", "maddr", "transport"};
  for (std::string_view name : kMustMatch) {
    const std::string n(name);
    const std::string *x = find(a, n), *y = find(b, n);
    if ((x == nullptr) != (y == nullptr)) return false;
    if (x && *x != *y) return false;
  }
  for (const auto& [name, value] : a) {
    if (const std::string* other = find(b, name); other && *other != value) return false;
  }
  return true;
}

bool headersEqual(Pairs a, Pairs b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

}  // namespace

bool sipUriEqual(std::string_view a, std::string_view b) {
  const auto x = parse(a), y = parse(b);
  if (!x || !y) return a == b;
  return x->scheme == y->scheme && x->hasUserinfo == y->hasUserinfo && x->userinfo == y->userinfo &&
         x->host == y->host && x->port == y->port && paramsEqual(x->params, y->params) &&
         headersEqual(x->headers, y->headers);
}

}  // namespace beckon
