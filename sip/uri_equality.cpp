#include "uri_equality.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <vector>

namespace beckon::sip {

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %HH escapes undone (a malformed one is kept as it is).
std::string unescaped(const char* s) {
  std::string out;
  if (!s) return out;
  for (; *s; ++s) {
    if (s[0] == '%' && hexValue(s[1]) >= 0 && hexValue(s[2]) >= 0) {
      out += static_cast<char>(hexValue(s[1]) * 16 + hexValue(s[2]));
      s += 2;
    } else {
      out += *s;
    }
  }
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// "a=b;c" (parameters, separated by ';') or "a=b&c=d" (headers, by '&'):
// lowercase names to unescaped values (lowercase when `foldValues`).
// A name given twice: the URIs are compared on the last.
std::map<std::string, std::string> pairs(const char* s, char separator, bool foldValues) {
  std::map<std::string, std::string> out;
  if (!s) return out;
  const std::string all = s;
  std::size_t begin = 0;
  while (begin <= all.size()) {
    std::size_t end = all.find(separator, begin);
    if (end == std::string::npos) end = all.size();
    const std::string item = all.substr(begin, end - begin);
    if (!item.empty()) {
      const auto eq = item.find('=');
      const std::string name = lower(unescaped(item.substr(0, eq).c_str()));
      std::string value = eq == std::string::npos ? "" : unescaped(item.substr(eq + 1).c_str());
      out[name] = foldValues ? lower(value) : value;
    }
    begin = end + 1;
  }
  return out;
}

bool sameCaseSensitive(const char* a, const char* b) {
  if (!a || !b) return !a && !b;
  return unescaped(a) == unescaped(b);
}

bool sameCaseInsensitive(const char* a, const char* b) {
  if (!a || !b) return !a && !b;
  return lower(unescaped(a)) == lower(unescaped(b));
}

}  // namespace

bool sipUriEqual(url_t const* a, url_t const* b) {
  if (!a || !b) return false;
  if (a->url_type != b->url_type || (a->url_type != url_sip && a->url_type != url_sips)) {
    return false;
  }
  if (!sameCaseSensitive(a->url_user, b->url_user) ||
      !sameCaseSensitive(a->url_password, b->url_password) ||
      !sameCaseInsensitive(a->url_host, b->url_host) ||
      !sameCaseInsensitive(a->url_port, b->url_port)) {
    return false;
  }
  const auto pa = pairs(a->url_params, ';', true), pb = pairs(b->url_params, ';', true);
  static const char* const kMustMatch[] = {"user", "ttl", "method", "maddr", "transport"};
  for (const char* name : kMustMatch) {
    const auto ia = pa.find(name), ib = pb.find(name);
    if ((ia == pa.end()) != (ib == pb.end())) return false;
    if (ia != pa.end() && ia->second != ib->second) return false;
  }
  for (const auto& [name, value] : pa) {
    const auto ib = pb.find(name);
    if (ib != pb.end() && ib->second != value) return false;
  }
  return pairs(a->url_headers, '&', false) == pairs(b->url_headers, '&', false);
}

}  // namespace beckon::sip
