// Reading the TOML file key by key, for every section's parser (config.cpp,
// config_push.cpp): each throws ConfigError("prefix.key: problem"), so that
// a refusal always names the key.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config.h"

namespace beckon::app {

[[noreturn]] void bad(const std::string& key, const std::string& problem);
// A key as TOML writes it: bare, or quoted when it is not a bare key.
std::string keyName(std::string_view k);
// Refuses keys this version does not know: a typo must not pass silently.
void onlyKeys(const toml::table& table, const std::string& prefix, std::set<std::string> known);
// [name] of the root, or null; a `name` that is not a table is refused.
const toml::table* section(const toml::table& root, const std::string& name);
// prefix.name within `parent` (a table), or null.
const toml::table* sectionOf(const toml::table& parent, const std::string& prefix,
                             const char* name);
std::string getString(const toml::table& t, const std::string& prefix, const char* key,
                      std::string fallback);
std::int64_t getInt(const toml::table& t, const std::string& prefix, const char* key,
                    std::int64_t fallback, std::int64_t min, std::int64_t max);
std::vector<std::string> getStrings(const toml::table& t, const std::string& prefix,
                                    const char* key, std::vector<std::string> fallback);
bool getBool(const toml::table& t, const std::string& prefix, const char* key, bool fallback);
// An RFC 3261 token.
bool isToken(const std::string& s);
bool isDirectory(const std::string& path);
// A file path that is readable (not a directory); "" when absent and not required.
std::string readableFile(const toml::table& t, const std::string& prefix, const char* key,
                         bool required);
// A readable file holding at least one PEM certificate; "" when absent.
std::string caFile(const toml::table& t, const std::string& prefix, const char* key);

// Sections parsed in files of their own.
void parsePush(const toml::table& t, Config& c);  // [push] and its [[push.provider]]s

}  // namespace beckon::app
