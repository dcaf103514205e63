// Dialog reconstruction's wire format (docs/beckon-ua.md, "Dialog
// reconstruction"): the Refer-To of the out-of-dialog REFER a user agent
// sends after a 481 with Accessible-Since, and its Reconstruction-State
// header.
#pragma once

#include <ctime>
#include <optional>
#include <string>

namespace beckon::ua {

// The dialog as the INVITE with Replaces to the REFER's sender names it
// (RFC 3891: to-tag is the sender's tag, from-tag the recipient's).
struct ReplacesTarget {
  std::string callId, toTag, fromTag;
};

// <AOR;call-reconstruction-org?Replaces=CALLID%3Bto-tag%3DT%3Bfrom-tag%3DF>
// ("-term" when the sender answered the call).
std::string referToValue(const std::string& senderAor, bool senderOriginated,
                         const ReplacesTarget& dialog);

// Escapes `text` for a header value in a SIP URI (RFC 3261 25.1 hvalue).
std::string hvalueEscape(const std::string& text);

// "cseq=N;session=S;version=V;contact=\"<URI>\""
std::string stateHeaderValue(unsigned long cseq, unsigned long session, unsigned long version,
                             const std::string& contact);

// The value of parameter `name` in a Reconstruction-State value, or "".
std::string stateParam(const std::string& value, const std::string& name);

// An HTTP-date (RFC 7231 7.1.1.1, IMF-fixdate) as a time, or nullopt.
std::optional<std::time_t> httpDate(const std::string& text);

}  // namespace beckon::ua
