#include "body_parser.h"

#include <expat.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <vector>

namespace beckon::ua {

namespace {

constexpr const char* kNamespace = "urn:beckon:contact-me:1";
constexpr char kNsSeparator = '\x1f';  // cannot occur in a namespace name or a local name
constexpr std::size_t kMaxAltServers = 8;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool isExtLabel(std::string_view label) {
  return !label.empty() && std::all_of(label.begin(), label.end(),
                                       [](unsigned char c) { return std::isalnum(c) || c == '-'; });
}

// Puts one label's value into `c`; unknown labels are ignored. A label that
// names one value may appear once: two servers in one body would leave the
// device guessing which one the application server meant.
void assign(NotifyContent& c, const std::string& label, const std::string& value) {
  std::string* single = nullptr;
  if (label == "state") {
    single = &c.state;
  } else if (label == "request-id") {
    single = &c.requestId;
  } else if (label == "server") {
    single = &c.server;
  } else if (label == "protocol") {
    single = &c.protocol;
  } else if (label == "path") {
    single = &c.path;
  } else if (label == "function") {
    single = &c.function;
  } else if (label == "time-slot") {
    single = &c.timeSlot;
  } else if (label == "alt-server") {
    if (c.altServers.size() == kMaxAltServers)
      throw BodyError("more than " + std::to_string(kMaxAltServers) + " alt-server values");
  } else {
    return;  // an ext-label of a later version
  }
  try {
    checkBodyValue(label, value);
  } catch (const InvalidField& e) {
    throw BodyError(e.what());
  }
  if (!single) {
    c.altServers.push_back(value);
    return;
  }
  if (!single->empty()) throw BodyError("'" + label + "' given twice");
  *single = value;
}

// Expat state: the document element must be {ns}contact-me; each of its
// child elements in that namespace is one label, its text the value.
// Deeper elements and elements of other namespaces are ignored.
struct XmlReader {
  XML_Parser parser = nullptr;
  NotifyContent content;
  int depth = 0;
  bool inLabel = false;  // collecting a depth-2 element of our namespace
  std::string label;
  std::string value;
  std::string error;

  void fail(std::string why) {
    if (error.empty()) error = std::move(why);
    XML_StopParser(parser, XML_FALSE);
  }

  static std::pair<std::string_view, std::string_view> split(const XML_Char* name) {
    std::string_view n(name);
    const auto sep = n.find(kNsSeparator);
    if (sep == std::string_view::npos) return {{}, n};
    return {n.substr(0, sep), n.substr(sep + 1)};
  }

  static void XMLCALL start(void* self, const XML_Char* name, const XML_Char**) {
    auto* r = static_cast<XmlReader*>(self);
    const auto [ns, local] = split(name);
    ++r->depth;
    if (r->depth == 1) {
      if (ns != kNamespace || local != "contact-me")
        r->fail("the document element is not <contact-me xmlns=\"" + std::string(kNamespace) +
                "\">");
    } else if (r->depth == 2 && ns == kNamespace) {
      r->inLabel = true;
      r->label = local;
      r->value.clear();
    }
  }

  static void XMLCALL end(void* self, const XML_Char*) {
    auto* r = static_cast<XmlReader*>(self);
    if (r->depth == 2 && r->inLabel) {
      r->inLabel = false;
      try {
        assign(r->content, r->label, r->value);
      } catch (const BodyError& e) {
        r->fail(e.what());
      }
    }
    --r->depth;
  }

  static void XMLCALL text(void* self, const XML_Char* s, int len) {
    auto* r = static_cast<XmlReader*>(self);
    if (r->inLabel && r->depth == 2) r->value.append(s, static_cast<std::size_t>(len));
  }

  // No DTDs: a NOTIFY body has no use for them, and entities defined in one
  // are the classic way to blow up a parser.
  static void XMLCALL doctype(void* self, const XML_Char*, const XML_Char*, const XML_Char*, int) {
    static_cast<XmlReader*>(self)->fail("a DTD is not allowed in the body");
  }
};

}  // namespace

std::optional<BodyFormat> bodyFormatOf(std::string_view contentType, const std::string& package) {
  std::string_view type = contentType.substr(0, contentType.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t'))
    type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t'))
    type.remove_prefix(1);
  const std::string t = lower(type);
  const std::string text = "application/" + lower(package);
  if (t == text) return BodyFormat::Text;
  if (t == text + "+xml") return BodyFormat::Xml;
  return std::nullopt;
}

NotifyContent parseTextBody(std::string_view body) {
  NotifyContent c;
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto eol = body.find('\n', pos);
    if (eol == std::string_view::npos) eol = body.size();
    std::string_view line = body.substr(pos, eol - pos);
    pos = eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos)
      throw BodyError("line without ':': '" + std::string(line.substr(0, 40)) + "'");
    const std::string label = lower(line.substr(0, colon));
    if (!isExtLabel(label)) throw BodyError("not a label: '" + label + "'");
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    assign(c, label, std::string(value));
  }
  return c;
}

NotifyContent parseXmlBody(std::string_view body) {
  XmlReader r;
  std::unique_ptr<XML_ParserStruct, void (*)(XML_Parser)> parser(
      XML_ParserCreateNS("UTF-8", kNsSeparator), XML_ParserFree);
  if (!parser) throw BodyError("out of memory for the XML parser");
  r.parser = parser.get();
  XML_SetUserData(r.parser, &r);
  XML_SetElementHandler(r.parser, &XmlReader::start, &XmlReader::end);
  XML_SetCharacterDataHandler(r.parser, &XmlReader::text);
  XML_SetStartDoctypeDeclHandler(r.parser, &XmlReader::doctype);
  XML_SetParamEntityParsing(r.parser, XML_PARAM_ENTITY_PARSING_NEVER);
  if (body.size() > static_cast<std::size_t>(INT32_MAX)) throw BodyError("body too large");
  const auto status = XML_Parse(r.parser, body.data(), static_cast<int>(body.size()), XML_TRUE);
  if (!r.error.empty()) throw BodyError(r.error);
  if (status != XML_STATUS_OK) {
    throw BodyError(std::string("not well-formed XML: ") +
                    XML_ErrorString(XML_GetErrorCode(r.parser)) + " at line " +
                    std::to_string(XML_GetCurrentLineNumber(r.parser)));
  }
  return std::move(r.content);
}

NotifyContent parseBody(std::string_view body, BodyFormat format) {
  return format == BodyFormat::Xml ? parseXmlBody(body) : parseTextBody(body);
}

}  // namespace beckon::ua
