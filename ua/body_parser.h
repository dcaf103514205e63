// The device's side of the contact-me NOTIFY body (docs/event-package.md
// section 5; notifier/body.h writes it): text and XML read back into the
// same NotifyContent. Unknown labels and elements are ignored, as the
// package requires of a subscriber; anything that could steer the device
// wrongly (a value with control characters, a label given twice, a DTD) is
// refused.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "body.h"

namespace beckon::ua {

class BodyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The body format of `contentType` (parameters such as charset ignored) for
// package P: application/P is text, application/P+xml is XML; nullopt for
// anything else.
std::optional<BodyFormat> bodyFormatOf(std::string_view contentType, const std::string& package);

// "label: value" lines, CRLF (a bare LF is taken too). Throws BodyError.
NotifyContent parseTextBody(std::string_view body);
// <contact-me xmlns="urn:beckon:contact-me:1"> with one child per label.
// Throws BodyError.
NotifyContent parseXmlBody(std::string_view body);

NotifyContent parseBody(std::string_view body, BodyFormat format);

}  // namespace beckon::ua
