// Text from the wire is bytes: SIP (RFC 3261 25.1 allows any octet in many
// places), a SOAP field, a certificate. These tell which bytes are UTF-8, so
// that each place that must write UTF-8 (JSON, XML, a log line) can keep the
// bytes (the store), refuse them (SOAP) or escape them (logs); see
// docs/decisions.md, "Bytes that are not UTF-8".
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace beckon {

// The length of the well-formed UTF-8 sequence at text[i] (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF), or 0.
std::size_t utf8Length(std::string_view text, std::size_t i);

bool validUtf8(std::string_view text);

// The text with every byte that is not part of a well-formed sequence written
// as \xNN: log lines stay UTF-8 and still tell every byte.
void appendUtf8Escaped(std::string& out, std::string_view text);

}  // namespace beckon
