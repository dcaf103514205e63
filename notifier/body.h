// NOTIFY bodies of the contact-me event package (contract: "The NOTIFY").
// beckon validates values and never rewrites them.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "binding.h"

namespace beckon {

struct NotifyContent {
  std::string state;  // "pending" or "idle"
  std::string requestId;
  std::string server;  // hostport, port included when the request gave one
  std::string protocol;
  std::string path;
  std::vector<std::string> altServers;
  std::string function;
  std::string timeSlot;
};

// A value that cannot be put in a body (CR, LF, other control characters,
// invalid UTF-8, empty). `field` names the request field.
class InvalidField : public std::invalid_argument {
 public:
  InvalidField(std::string field, const std::string& why)
      : std::invalid_argument(field + ": " + why), field_(std::move(field)) {}
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

// Throws InvalidField if a value may not appear in a body line.
void checkBodyValue(const std::string& field, const std::string& value);

// application/P: "label: value" CRLF lines, in the contract's order, only the
// values given.
std::string encodeText(const NotifyContent& content);
// application/P+xml: <contact-me xmlns="urn:beckon:contact-me:1"> with one
// child per label.
std::string encodeXml(const NotifyContent& content);

std::string encode(const NotifyContent& content, BodyFormat format);
std::string contentType(const std::string& package, BodyFormat format);

}  // namespace beckon
