#include "config_read.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

namespace beckon::app {

[[noreturn]] void bad(const std::string& key, const std::string& problem) {
  throw ConfigError(key + ": " + problem);
}

// A key as TOML writes it: bare, or quoted when it is not a bare key (the
// empty key '' included), so that every message names one.
std::string keyName(std::string_view k) {
  const bool bare = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  if (bare) return std::string(k);
  std::string out = "\"";
  for (char c : k) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '"' || c == '\\') {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", u);
      out += esc;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Refuses keys this version does not know: a typo must not pass silently.
void onlyKeys(const toml::table& table, const std::string& prefix, std::set<std::string> known) {
  for (auto&& [k, v] : table) {
    if (!known.count(std::string(k.str()))) {
      bad(prefix + keyName(k.str()), "unknown key");
    }
  }
}

const toml::table* section(const toml::table& root, const std::string& name) {
  const toml::node* n = root.get(name);
  if (!n) return nullptr;
  if (!n->is_table()) bad(name, "must be a table ([" + name + "])");
  return n->as_table();
}

std::string getString(const toml::table& t, const std::string& prefix, const char* key,
                      std::string fallback) {
  const toml::node* n = t.get(key);
  if (!n) return fallback;
  if (!n->is_string()) bad(prefix + key, "must be a string");
  return n->value<std::string>().value();
}

std::int64_t getInt(const toml::table& t, const std::string& prefix, const char* key,
                    std::int64_t fallback, std::int64_t min, std::int64_t max) {
  const toml::node* n = t.get(key);
  if (!n) return fallback;
  if (!n->is_integer()) bad(prefix + key, "must be an integer");
  const std::int64_t v = n->value<std::int64_t>().value();
  if (v < min || v > max) {
    bad(prefix + key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return v;
}

std::vector<std::string> getStrings(const toml::table& t, const std::string& prefix,
                                    const char* key, std::vector<std::string> fallback) {
  const toml::node* n = t.get(key);
  if (!n) return fallback;
  if (!n->is_array()) bad(prefix + key, "must be an array of strings");
  std::vector<std::string> out;
  for (const toml::node& e : *n->as_array()) {
    if (!e.is_string()) bad(prefix + key, "must be an array of strings");
    out.push_back(e.value<std::string>().value());
  }
  return out;
}

bool isToken(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string("-.!%*_+`'~").find(c) != std::string::npos;
  });
}

const toml::table* sectionOf(const toml::table& parent, const std::string& prefix,
                             const char* name) {
  const toml::node* n = parent.get(name);
  if (!n) return nullptr;
  if (!n->is_table()) bad(prefix + name, "must be a table");
  return n->as_table();
}

bool getBool(const toml::table& t, const std::string& prefix, const char* key, bool fallback) {
  const toml::node* n = t.get(key);
  if (!n) return fallback;
  if (!n->is_boolean()) bad(prefix + key, "must be true or false");
  return n->value<bool>().value();
}

bool isDirectory(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_directory(path, ec);
}

std::string readableFile(const toml::table& t, const std::string& prefix, const char* key,
                         bool required) {
  const std::string path = getString(t, prefix, key, "");
  if (path.empty()) {
    if (required) bad(prefix + key, "required");
    return path;
  }
  if (isDirectory(path)) bad(prefix + key, "'" + path + "' is a directory");
  if (!std::ifstream(path).good()) bad(prefix + key, "'" + path + "' cannot be read");
  return path;
}

// A file of trusted CAs: readable, and at least one PEM certificate in it
// (OpenSSL would otherwise fail only when the first peer connects).
std::string caFile(const toml::table& t, const std::string& prefix, const char* key) {
  const std::string path = readableFile(t, prefix, key, false);
  if (path.empty()) return path;
  std::unique_ptr<FILE, int (*)(FILE*)> in(std::fopen(path.c_str(), "r"), &std::fclose);
  X509* cert = in ? PEM_read_X509_AUX(in.get(), nullptr, nullptr, nullptr) : nullptr;
  if (!cert) bad(prefix + key, "'" + path + "' holds no PEM certificate");
  X509_free(cert);
  return path;
}

}  // namespace beckon::app
