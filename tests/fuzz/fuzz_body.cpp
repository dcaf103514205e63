// NOTIFY bodies (notifier/body.h): the fields of a ContactMe, as an
// application server sends them, through validate() and into the text and
// XML bodies. beckond only encodes bodies; this harness decodes them again
// as a device would (the contract's grammar) and requires the values back
// exactly: validation must let nothing through that could break a line or
// an element, or be read back differently.
//
// Input: NUL-separated fields: deviceId, requestId, server, port, protocol,
// path, function, timeSlot, then alternate servers.
#include <exception>
#include <utility>

#include "body.h"
#include "contact_request.h"
#include "fault.h"
#include "fuzz.h"

using beckon::fuzz::printable;

namespace {

using Lines = std::vector<std::pair<std::string, std::string>>;

// body = *( label ": " value CRLF ); value without CR or LF.
Lines decodeText(const std::string& body) {
  Lines out;
  std::size_t at = 0;
  while (at < body.size()) {
    const std::size_t end = body.find("\r\n", at);
    FUZZ_CHECK(end != std::string::npos, "text body without final CRLF: %s",
               printable(body).c_str());
    const std::string line = body.substr(at, end - at);
    FUZZ_CHECK(line.find('\r') == std::string::npos && line.find('\n') == std::string::npos,
               "bare CR or LF in a line: %s", printable(body).c_str());
    const std::size_t colon = line.find(": ");
    FUZZ_CHECK(colon != std::string::npos && colon > 0, "line without label: %s",
               printable(line).c_str());
    out.emplace_back(line.substr(0, colon), line.substr(colon + 2));
    at = end + 2;
  }
  return out;
}

std::string unescapeXml(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    FUZZ_CHECK(text[i] != '<' && text[i] != '>', "unescaped markup in element text: %s",
               printable(text).c_str());
    if (text[i] != '&') {
      out += text[i];
      continue;
    }
    const std::size_t semi = text.find(';', i);
    FUZZ_CHECK(semi != std::string::npos, "unterminated entity: %s", printable(text).c_str());
    const std::string entity = text.substr(i + 1, semi - i - 1);
    if (entity == "amp") {
      out += '&';
    } else if (entity == "lt") {
      out += '<';
    } else if (entity == "gt") {
      out += '>';
    } else if (entity == "quot") {
      out += '"';
    } else if (entity == "apos") {
      out += '\'';
    } else {
      FUZZ_CHECK(false, "unknown entity &%s;", printable(entity).c_str());
    }
    i = semi;
  }
  return out;
}

// The XML body beckond writes: a declaration, <contact-me xmlns=...>, one
// "  <label>text</label>" per line, </contact-me>.
Lines decodeXml(const std::string& body) {
  static const std::string head =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
      "<contact-me xmlns=\"urn:beckon:contact-me:1\">\r\n";
  static const std::string tail = "</contact-me>\r\n";
  FUZZ_CHECK(body.starts_with(head) && body.ends_with(tail), "XML body frame: %s",
             printable(body).c_str());
  Lines out;
  std::size_t at = head.size();
  while (at < body.size() - tail.size()) {
    const std::size_t end = body.find("\r\n", at);
    const std::string line = body.substr(at, end - at);
    FUZZ_CHECK(line.starts_with("  <"), "XML line: %s", printable(line).c_str());
    const std::size_t gt = line.find('>');
    FUZZ_CHECK(gt != std::string::npos, "XML line: %s", printable(line).c_str());
    const std::string label = line.substr(3, gt - 3);
    const std::string close = "</" + label + ">";
    FUZZ_CHECK(line.ends_with(close) && line.size() >= gt + 1 + close.size(),
               "XML element not closed: %s", printable(line).c_str());
    out.emplace_back(label, unescapeXml(line.substr(gt + 1, line.size() - gt - 1 - close.size())));
    at = end + 2;
  }
  return out;
}

void check(const std::vector<std::string>& f) {
  beckon::ContactMeParams p;
  p.deviceId = f[0];
  if (f.size() > 1) p.requestId = f[1];
  if (f.size() > 2) p.server = f[2];
  if (f.size() > 3 && !f[3].empty()) {
    unsigned long port = 0;
    for (char c : f[3].substr(0, 6))
      port = port * 10 + static_cast<unsigned char>(c) % 10;
    p.port = static_cast<std::uint16_t>(port);
  }
  if (f.size() > 4) p.protocol = f[4];
  if (f.size() > 5) p.path = f[5];
  if (f.size() > 6) p.function = f[6];
  if (f.size() > 7) p.timeSlot = f[7];
  for (std::size_t i = 8; i < f.size(); ++i)
    p.alternateServers.push_back(f[i]);

  try {
    beckon::validate(p, {beckon::kDefaultPackage});
  } catch (const beckon::Fault& e) {
    FUZZ_CHECK(e.code() == beckon::FaultCode::InvalidArgument, "validate: fault %s",
               beckon::toString(e.code()));
    return;
  }

  // What the core puts in the NOTIFY (notifier/core.cpp).
  beckon::NotifyContent content;
  content.state = "pending";
  content.requestId = p.requestId;
  content.server = beckon::serverLine(p);
  content.protocol = p.protocol;
  content.path = p.path;
  content.altServers = p.alternateServers;
  content.function = p.function;
  content.timeSlot = p.timeSlot;
  Lines expected;
  auto add = [&](const char* label, const std::string& v) {
    if (!v.empty()) expected.emplace_back(label, v);
  };
  add("state", content.state);
  add("request-id", content.requestId);
  add("server", content.server);
  add("protocol", content.protocol);
  add("path", content.path);
  for (const auto& a : content.altServers)
    add("alt-server", a);
  add("function", content.function);
  add("time-slot", content.timeSlot);

  const std::string text = beckon::encodeText(content);
  FUZZ_CHECK(decodeText(text) == expected, "text body does not read back: %s",
             printable(text).c_str());
  const std::string xml = beckon::encodeXml(content);
  FUZZ_CHECK(decodeXml(xml) == expected, "XML body does not read back: %s", printable(xml).c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto f = beckon::fuzz::fields(beckon::fuzz::asText(data, size), 12);
  try {
    check(f);
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, "exception: %s", e.what());
  }
  return 0;
}
