// The text of SOAP requests and answers as bytes (docs/decisions.md, "Bytes
// that are not UTF-8").
//
// Requests: gSOAP does not hand on what a request's bytes were. It reads a
// byte that starts no well-formed UTF-8 sequence as a Latin-1 character
// (\xc3\x28 arrives as "Ã("), decodes overlong forms (\xc0\xaf as "/"),
// passes surrogates, cuts a string at &#0; and misreads character
// references longer than 7 characters (&#x110000; as U+11000 and "0;").
// So the request's text is checked as it came, before gSOAP reads it, and a
// request with a problem is refused with a fault naming the field.
//
// Answers: text that came from devices (a Contact URI, a reason phrase) may
// hold any byte; it is written so that the answer stays XML.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace beckon::soap {

// What is wrong with a request's text, and in which element.
struct XmlTextProblem {
  std::string
      element;       // local name of the innermost open element (the field); empty before the root
  std::string what;  // why, without the element; never holds the offending bytes
  // "element: what" ("request: what" before the root element), as faults say it.
  std::string message() const;
};

// The first problem in the text of an XML document, up to the end of its root
// element (what follows is not read), or nothing. Every byte must be part of
// a well-formed UTF-8 sequence (RFC 3629: no overlong form, no surrogate,
// nothing above U+10FFFF), unless the XML declaration says ISO-8859-1 (which
// gSOAP honours); every character, as it is or as a character reference,
// must be one XML 1.0 allows (its production Char: no NUL, no C0 control but
// tab, LF and CR, no U+FFFE or U+FFFF); and every '&' must start &amp;,
// &lt;, &gt;, &quot;, &apos; or a character reference of at most 7
// characters between '&' and ';' (all that gSOAP reads whole: &#x10FFF;,
// &#999999;). Element content, attribute values, CDATA sections, comments,
// processing instructions and names are all checked. The document's markup
// itself is gSOAP's to judge: a document that is not well-formed passes as
// long as its bytes do.
std::optional<XmlTextProblem> checkXmlText(std::string_view document);

// `text` as an answer may carry it: every byte that is not part of a
// well-formed UTF-8 sequence, and each byte of a character XML 1.0 does not
// allow (see above), written %XX (uppercase hex); everything else, '%'
// included, as it is. A URI (a Contact) written so names the same resource
// (RFC 3986 2.1, RFC 3261 19.1.4); valid text comes back unchanged.
std::string xmlSafe(std::string_view text);

}  // namespace beckon::soap
