#include "xml_text.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "utf8.h"

namespace beckon::soap {

namespace {

// XML 1.0, production Char.
bool xmlChar(char32_t c) {
  return c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0xd7ff) ||
         (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

// What gSOAP reads of a reference: at most this many characters between '&'
// and ';'.
constexpr std::size_t kLongestReference = 7;
// How far a ';' is looked for, for the message about a reference too long.
constexpr std::size_t kReferenceSearch = 32;

std::string codePoint(char32_t c) {
  char text[16];
  std::snprintf(text, sizeof text, "U+%04X", static_cast<unsigned>(c));
  return text;
}

std::string byteAt(unsigned char b, std::size_t offset) {
  char text[64];
  std::snprintf(text, sizeof text, "byte 0x%02x at offset %zu of the request", b, offset);
  return text;
}

// The code point of the well-formed sequence of `length` bytes at text[i].
char32_t decode(std::string_view text, std::size_t i, std::size_t length) {
  const auto lead = static_cast<unsigned char>(text[i]);
  if (length == 1) return lead;
  char32_t c = lead & (0x7f >> length);
  for (std::size_t k = 1; k < length; ++k)
    c = (c << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3f);
  return c;
}

bool printableAscii(std::string_view s) {
  for (const char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// Why the reference whose text between '&' and ';' is `body` cannot be
// taken, or empty.
std::string badReference(std::string_view body) {
  // `body` is shown only when it is printable ASCII (it is short: see below).
  const std::string shown =
      printableAscii(body) ? "&" + std::string(body) + ";" : std::string("a reference");
  if (body == "amp" || body == "lt" || body == "gt" || body == "quot" || body == "apos") return {};
  if (body.empty() || body[0] != '#') {
    return shown + " is not a reference XML defines (&amp; &lt; &gt; &quot; &apos;, or &#...;)";
  }
  const bool hex = body.size() > 1 && body[1] == 'x';
  const std::string_view digits = body.substr(hex ? 2 : 1);
  if (digits.empty()) return shown + " is not a character reference: it has no digits";
  std::uint32_t value = 0;
  bool huge = false;
  for (const char d : digits) {
    int v;
    if (d >= '0' && d <= '9') {
      v = d - '0';
    } else if (hex && d >= 'a' && d <= 'f') {
      v = d - 'a' + 10;
    } else if (hex && d >= 'A' && d <= 'F') {
      v = d - 'A' + 10;
    } else {
      return shown + " is not a character reference: '" +
             (printableAscii(std::string_view(&d, 1)) ? std::string(1, d) : std::string("?")) +
             "' is not a " + (hex ? "hex" : "decimal") + " digit";
    }
    if (value > 0x10ffff) {
      huge = true;
    } else {
      value = value * (hex ? 16 : 10) + static_cast<std::uint32_t>(v);
    }
  }
  if (huge || value > 0x10ffff) return shown + " names no character (beyond U+10FFFF)";
  if (!xmlChar(value))
    return shown + " names " + codePoint(value) + ", which XML 1.0 does not allow";
  if (body.size() > kLongestReference) {
    return shown + " is longer than gSOAP reads (7 characters between & and ;): drop its " +
           "leading zeros, or send the character itself in UTF-8";
  }
  return {};
}

class Checker {
 public:
  explicit Checker(std::string_view document) : doc_(document) {}

  std::optional<XmlTextProblem> run() {
    std::size_t at = 0;
    if (doc_.substr(0, 3) == "\xef\xbb\xbf") at = 3;  // a byte order mark
    if (doc_.substr(at, 5) == "<?xml") readDeclaration(at);
    while (at < doc_.size() && !problem_ && !finished_) {
      if (doc_[at] != '<') {
        const std::size_t end = std::min(doc_.find('<', at), doc_.size());
        text(at, end, true, "");
        at = end;
      } else {
        at = markup(at);
      }
    }
    return std::move(problem_);
  }

 private:
  // ISO-8859-1 documents: each byte is a character (gSOAP converts them).
  void readDeclaration(std::size_t at) {
    const std::size_t end = doc_.find("?>", at);
    const std::string_view decl = doc_.substr(at, end == std::string_view::npos ? 0 : end - at);
    const std::size_t e = decl.find("encoding");
    if (e == std::string_view::npos) return;
    std::size_t q = decl.find_first_of("\"'", e);
    if (q == std::string_view::npos) return;
    const std::size_t close = decl.find(decl[q], q + 1);
    if (close == std::string_view::npos) return;
    std::string name(decl.substr(q + 1, close - q - 1));
    for (char& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    latin1_ = name == "iso-8859-1" || name == "latin1" || name == "latin-1";
  }

  // The markup at doc_[at] == '<'; returns where the text after it starts.
  std::size_t markup(std::size_t at) {
    const std::string_view rest = doc_.substr(at);
    auto until = [&](std::string_view open, std::string_view close, const char* what) {
      const std::size_t end = doc_.find(close, at + open.size());
      const std::size_t stop = end == std::string_view::npos ? doc_.size() : end;
      text(at + open.size(), stop, false, what);
      return end == std::string_view::npos ? doc_.size() : end + close.size();
    };
    if (rest.starts_with("<!--")) return until("<!--", "-->", "a comment");
    if (rest.starts_with("<![CDATA[")) return until("<![CDATA[", "]]>", "");
    if (rest.starts_with("<?")) return until("<?", "?>", "a processing instruction");
    if (rest.starts_with("<!")) return until("<!", ">", "a declaration");
    if (rest.starts_with("</")) {
      const std::size_t end = std::min(doc_.find('>', at), doc_.size());
      text(at + 2, end, false, "an end tag");
      if (!elements_.empty()) elements_.pop_back();
      if (elements_.empty()) done();
      return end < doc_.size() ? end + 1 : end;
    }
    return startTag(at);
  }

  // <name attr="value" ...> or <name .../>
  std::size_t startTag(std::size_t at) {
    std::size_t i = at + 1;
    const std::size_t nameEnd = std::min(doc_.find_first_of(" \t\r\n/>", i), doc_.size());
    text(i, nameEnd, false, "an element name");
    if (problem_) return doc_.size();
    std::string_view name = doc_.substr(i, nameEnd - i);
    if (const std::size_t colon = name.rfind(':'); colon != std::string_view::npos)
      name.remove_prefix(colon + 1);
    elements_.push_back(name);
    i = nameEnd;
    while (i < doc_.size() && !problem_) {
      const char c = doc_[i];
      if (c == '>') return i + 1;
      if (c == '/' && i + 1 < doc_.size() && doc_[i + 1] == '>') {
        elements_.pop_back();
        if (elements_.empty()) done();
        return i + 2;
      }
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '/') {
        ++i;
        continue;
      }
      // An attribute: name = "value" (gSOAP judges the syntax).
      const std::size_t attrEnd = std::min(doc_.find_first_of("= \t\r\n/>", i), doc_.size());
      text(i, attrEnd, false, "an attribute name");
      const std::string_view attr = doc_.substr(i, attrEnd - i);
      i = attrEnd;
      while (i < doc_.size() && (doc_[i] == ' ' || doc_[i] == '\t' || doc_[i] == '\r' ||
                                 doc_[i] == '\n' || doc_[i] == '='))
        ++i;
      if (i < doc_.size() && (doc_[i] == '"' || doc_[i] == '\'')) {
        const std::size_t close = std::min(doc_.find(doc_[i], i + 1), doc_.size());
        const std::string label =
            printableAscii(attr) ? "attribute " + std::string(attr) : std::string("an attribute");
        text(i + 1, close, true, label);
        i = close < doc_.size() ? close + 1 : close;
      }
    }
    return i;
  }

  // The root element ended: nothing after it is read.
  void done() { finished_ = true; }

  // Checks doc_[from, to): characters, and references when `references`.
  void text(std::size_t from, std::size_t to, bool references, std::string_view where) {
    for (std::size_t i = from; i < to && !problem_;) {
      const auto b = static_cast<unsigned char>(doc_[i]);
      if (b == '&' && references) {
        const std::size_t semi = doc_.find(';', i + 1);
        if (semi == std::string_view::npos || semi >= to || semi - i - 1 > kReferenceSearch) {
          fail(where, "'&' starts no reference (write &amp; for '&')");
          return;
        }
        if (const std::string why = badReference(doc_.substr(i + 1, semi - i - 1)); !why.empty()) {
          fail(where, why);
          return;
        }
        i = semi + 1;
        continue;
      }
      if (b < 0x80 || latin1_) {
        if (!xmlChar(b)) fail(where, "holds " + codePoint(b) + ", which XML 1.0 does not allow");
        ++i;
        continue;
      }
      const std::size_t n = utf8Length(doc_, i);
      if (n == 0) {
        fail(where, "is not valid UTF-8: " + byteAt(b, i));
        return;
      }
      if (const char32_t c = decode(doc_, i, n); !xmlChar(c))
        fail(where, "holds " + codePoint(c) + ", which XML 1.0 does not allow");
      i += n;
    }
  }

  void fail(std::string_view where, const std::string& what) {
    if (problem_) return;
    problem_ = XmlTextProblem{elements_.empty() ? std::string() : std::string(elements_.back()),
                              where.empty() ? what : what + " (in " + std::string(where) + ")"};
  }

  std::string_view doc_;
  bool latin1_ = false;
  bool finished_ = false;
  std::vector<std::string_view> elements_;  // open elements, local names
  std::optional<XmlTextProblem> problem_;
};

}  // namespace

std::string XmlTextProblem::message() const {
  return (element.empty() ? std::string("request") : element) + ": " + what;
}

std::optional<XmlTextProblem> checkXmlText(std::string_view document) {
  return Checker(document).run();
}

std::string xmlSafe(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  auto escape = [&](std::string& out, std::size_t from, std::size_t n) {
    for (std::size_t k = from; k < from + n; ++k) {
      const auto b = static_cast<unsigned char>(text[k]);
      out += '%';
      out += hex[b >> 4];
      out += hex[b & 15];
    }
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8Length(text, i);
    if (n == 0) {
      escape(out, i, 1);
      ++i;
    } else if (!xmlChar(decode(text, i, n))) {
      escape(out, i, n);
      i += n;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace beckon::soap
