// The encodings the SQLite and the Redis store share (codec.cpp). Strings
// from the wire are bytes (notifier/utf8.h): in JSON, text that is UTF-8 is
// a JSON string and anything else nlohmann's binary value, byte for byte.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "binding.h"
#include "clock.h"
#include "contact_request.h"
#include "dialog_keys.h"

namespace beckon::store::codec {

using nlohmann::json;

json wireJson(std::string_view s);
json wireJson(const std::vector<std::string>& list);
std::string wire(const json& v);  // throws json::exception for anything else
std::string wire(const json& j, const char* key);
std::vector<std::string> wireList(const json& j, const char* key);

std::int64_t ms(TimePoint t);
// A stored time, clamped to what a TimePoint can hold.
TimePoint at(std::int64_t ms);

Transport transportOf(std::string_view s);
RequestState stateOf(std::string_view s);  // throws StoreError for an unknown one

std::string encodePackages(const std::vector<PackageSubscription>& packages);
std::vector<PackageSubscription> decodePackages(std::string_view s);
std::string encodeDialog(const Binding& b);  // "" without an explicit subscription
DialogState decodeDialog(std::string_view s);
std::string encodeParams(const ContactMeParams& p);
ContactMeParams decodeParams(const json& j);
std::string encodeDeliveries(const std::vector<Delivery>& deliveries);
std::vector<Delivery> decodeDeliveries(const json& j);
std::string encodeRefusedBy(const std::vector<std::uint64_t>& ids);
std::string encodeKeys(const std::vector<DialogKey>& keys);
std::vector<DialogKey> decodeKeys(std::string_view s);

}  // namespace beckon::store::codec
