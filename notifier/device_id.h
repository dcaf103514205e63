// Device identifiers and their normal forms (contract: "Devices: registration
// and subscription"). A ContactMe request may name a device by any of them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace beckon {

enum class DeviceIdKind { Instance, Mac, Aor, DirectoryNumber, TempGruu };

const char* toString(DeviceIdKind kind);

struct DeviceKey {
  DeviceIdKind kind;
  std::string value;  // normalised
  bool operator==(const DeviceKey&) const = default;
};

// "00:04:f2:a1:b2:c3", "00-04-F2-A1-B2-C3", "0004f2a1b2c3" -> "0004f2a1b2c3".
std::optional<std::string> normaliseMac(std::string_view text);

// A +sip.instance value as it appears in a Contact parameter ("\"<urn:uuid:...>\"")
// or as an application server writes it ("urn:uuid:...", "<urn:uuid:...>").
// Quotes and angle brackets are removed; the URN scheme and namespace id, and
// the hexadecimal of urn:uuid and urn:dev:mac, are lower-cased (RFC 8141 and
// RFC 4122 make them case-insensitive). Empty when it is not a URN.
std::optional<std::string> normaliseInstance(std::string_view text);

// The MAC address an instance id carries: the node field of a time-based
// (version 1) UUID, or the value of urn:dev:mac (RFC 9039).
std::optional<std::string> macOfInstance(std::string_view normalisedInstance);

// "sip:7546658000@Example.COM;transport=tcp" -> "sip:7546658000@example.com".
// The user part is case-sensitive (RFC 3261 19.1.4) and kept as it is; the host
// is lower-cased; parameters, headers and display names are dropped; sips
// becomes sip (one address of record whatever the transport).
std::optional<std::string> normaliseAor(std::string_view uri);

// The user part of a normalised address of record: the directory number.
std::string directoryNumberOf(std::string_view normalisedAor);

// How a deviceId from a request is looked up, most specific first:
//  "urn:..." / "<urn:...>"        instance id (and its MAC, if it carries one)
//  "sip:...;gr=urn:..."           public GRUU: its instance id (RFC 5627)
//  "sip:tgruu.X@host;gr"          temporary GRUU: the binding that has it
//  "sip:..." / "sips:..."         address of record
//  MAC with ':' or '-' separators  MAC
//  12 hex digits                  MAC, then directory number (a 12-digit number is both)
//  anything else                  directory number
// Empty when the text cannot name a device (empty, or a URI that does not parse).
std::vector<DeviceKey> lookupKeys(std::string_view deviceId);

}  // namespace beckon
