#include "body.h"

namespace beckon {

namespace {

// value = 1*( %x20-7E / UTF8-NONASCII ): printable ASCII or well-formed UTF-8
// above U+007F. Returns why not, or nullptr.
const char* badValue(const std::string& v) {
  if (v.empty()) return "must not be empty";
  for (std::size_t i = 0; i < v.size();) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c == '\r' || c == '\n') return "must not contain CR or LF";
    if (c < 0x20 || c == 0x7f) return "must not contain control characters";
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4, cp = c & 0x07;
    } else {
      return "is not valid UTF-8";
    }
    if (i + len > v.size()) return "is not valid UTF-8";
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(v[i + k]);
      if ((cc & 0xc0) != 0x80) return "is not valid UTF-8";
      cp = (cp << 6) | (cc & 0x3f);
    }
    const bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    if (overlong || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return "is not valid UTF-8";
    if (cp >= 0x80 && cp < 0xa0) return "must not contain control characters";
    i += len;
  }
  return nullptr;
}

// The body lines in the contract's order: (label, request field, value).
struct Line {
  const char* label;
  const char* field;
  const std::string* value;
};

std::vector<Line> linesOf(const NotifyContent& c) {
  std::vector<Line> lines;
  auto add = [&](const char* label, const char* field, const std::string& v) {
    if (!v.empty()) lines.push_back({label, field, &v});
  };
  add("state", "state", c.state);
  add("request-id", "requestId", c.requestId);
  add("server", "server", c.server);
  add("protocol", "protocol", c.protocol);
  add("path", "path", c.path);
  for (const auto& alt : c.altServers)
    lines.push_back({"alt-server", "alternateServer", &alt});
  add("function", "function", c.function);
  add("time-slot", "timeSlot", c.timeSlot);
  for (const Line& l : lines)
    checkBodyValue(l.field, *l.value);
  return lines;
}

void appendXmlEscaped(std::string& out, const std::string& v) {
  for (char ch : v) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += ch;
    }
  }
}

}  // namespace

void checkBodyValue(const std::string& field, const std::string& value) {
  if (const char* why = badValue(value)) throw InvalidField(field, why);
}

std::string encodeText(const NotifyContent& content) {
  std::string body;
  for (const Line& l : linesOf(content)) {
    body += l.label;
    body += ": ";
    body += *l.value;
    body += "\r\n";
  }
  return body;
}

std::string encodeXml(const NotifyContent& content) {
  std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n";
  body += "<contact-me xmlns=\"urn:beckon:contact-me:1\">\r\n";
  for (const Line& l : linesOf(content)) {
    body += "  <";
    body += l.label;
    body += ">";
    appendXmlEscaped(body, *l.value);
    body += "</";
    body += l.label;
    body += ">\r\n";
  }
  body += "</contact-me>\r\n";
  return body;
}

std::string encode(const NotifyContent& content, BodyFormat format) {
  return format == BodyFormat::Xml ? encodeXml(content) : encodeText(content);
}

std::string contentType(const std::string& package, BodyFormat format) {
  return "application/" + package + (format == BodyFormat::Xml ? "+xml" : "");
}

}  // namespace beckon
