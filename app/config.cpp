#include "config.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "config_read.h"
#include "device_id.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace beckon::app {

namespace {

bool isHex(const std::string& s, std::size_t length) {
  return s.size() == length && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c));
         });
}

std::string lowerHex(std::string s) {
  std::erase(s, ':');
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The certificate and its key must load and belong together: checked now,
// not when the first device connects.
void checkCertificate(const std::string& prefix, const std::string& certFile,
                      const std::string& keyFile) {
  std::unique_ptr<FILE, int (*)(FILE*)> certIn(std::fopen(certFile.c_str(), "r"), &std::fclose);
  X509* cert = certIn ? PEM_read_X509(certIn.get(), nullptr, nullptr, nullptr) : nullptr;
  if (!cert) bad(prefix + "cert", "'" + certFile + "' holds no PEM certificate");
  std::unique_ptr<X509, void (*)(X509*)> certOwner(cert, &X509_free);
  std::unique_ptr<FILE, int (*)(FILE*)> keyIn(std::fopen(keyFile.c_str(), "r"), &std::fclose);
  EVP_PKEY* key = keyIn ? PEM_read_PrivateKey(keyIn.get(), nullptr, nullptr, nullptr) : nullptr;
  if (!key) bad(prefix + "key", "'" + keyFile + "' holds no PEM private key (or it is encrypted)");
  std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)> keyOwner(key, &EVP_PKEY_free);
  if (X509_check_private_key(cert, key) != 1) bad(prefix + "key", "does not belong to " + certFile);
  // Valid now: an expired certificate, or one not valid yet, fails every handshake.
  auto when = [](const ASN1_TIME* t) {
    std::unique_ptr<BIO, int (*)(BIO*)> out(BIO_new(BIO_s_mem()), &BIO_free);
    char* text = nullptr;
    const long n = out && ASN1_TIME_print(out.get(), t) ? BIO_get_mem_data(out.get(), &text) : 0;
    return n > 0 ? std::string(text, static_cast<std::size_t>(n)) : std::string("?");
  };
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0)
    bad(prefix + "cert", "'" + certFile + "' expired on " + when(X509_get0_notAfter(cert)));
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0)
    bad(prefix + "cert",
        "'" + certFile + "' is not valid before " + when(X509_get0_notBefore(cert)));
}

sip::SipTls parseSipTls(const toml::table& t) {
  const std::string p = "sip.tls.";
  onlyKeys(t, p, {"cert", "key", "ca"});
  sip::SipTls tls;
  tls.cert = readableFile(t, p, "cert", true);
  tls.key = readableFile(t, p, "key", true);
  tls.ca = caFile(t, p, "ca");
  checkCertificate(p, tls.cert, tls.key);
  return tls;
}

soap::SoapTls parseSoapTls(const toml::table& t) {
  const std::string p = "soap.tls.";
  onlyKeys(t, p, {"cert", "key", "ca", "client_certs"});
  soap::SoapTls tls;
  tls.certFile = readableFile(t, p, "cert", true);
  tls.keyFile = readableFile(t, p, "key", true);
  tls.caFile = caFile(t, p, "ca");
  checkCertificate(p, tls.certFile, tls.keyFile);
  const std::string clientCerts = getString(t, p, "client_certs", "none");
  using ClientCerts = soap::SoapTls::ClientCerts;
  if (clientCerts == "none") {
    tls.clientCerts = ClientCerts::None;
  } else if (clientCerts == "optional") {
    tls.clientCerts = ClientCerts::Optional;
  } else if (clientCerts == "required") {
    tls.clientCerts = ClientCerts::Required;
  } else {
    bad(p + "client_certs", "must be none, optional or required");
  }
  if (tls.clientCerts != ClientCerts::None && tls.caFile.empty()) {
    bad(p + "ca", "required to verify client certificates");
  }
  return tls;
}

// "host:port" with port a number or "*", host a name, an address, "*" or "*.suffix".
void checkCallbackPattern(const std::string& key, const std::string& pattern) {
  const auto colon = pattern.rfind(':');
  const std::string port = colon == std::string::npos ? "" : pattern.substr(colon + 1);
  const bool portOk = port == "*" || (!port.empty() && port.size() <= 5 &&
                                      port.find_first_not_of("0123456789") == std::string::npos);
  if (colon == std::string::npos || colon == 0 || !portOk) {
    bad(key, "'" + pattern + "' is not host:port (port a number or *)");
  }
}

std::vector<AppServerConfig> parseAppServers(const toml::table& root,
                                             const std::vector<std::string>& packages) {
  std::vector<AppServerConfig> out;
  const toml::node* n = root.get("app_server");
  if (!n) return out;
  if (!n->is_array_of_tables()) bad("app_server", "must be an array of tables ([[app_server]])");
  std::size_t i = 0;
  for (const toml::node& e : *n->as_array()) {
    const toml::table& t = *e.as_table();
    std::string p = "app_server[" + std::to_string(i++) + "].";
    onlyKeys(t, p,
             {"name", "basic_auth", "tls_subject", "tls_fingerprint", "packages",
              "callback_servers", "acts_for", "query_devices", "rate", "notice_url"});
    AppServerConfig a;
    a.rights.name = getString(t, p, "name", "");
    a.identity.name = a.rights.name;
    if (!isToken(a.rights.name)) bad(p + "name", "required, a token");
    for (const auto& other : out) {
      if (other.rights.name == a.rights.name)
        bad(p + "name", "'" + a.rights.name + "' is used twice");
    }
    p = "app_server." + a.rights.name + ".";
    if (const toml::table* basic = sectionOf(t, p, "basic_auth")) {
      onlyKeys(*basic, p + "basic_auth.", {"user", "password_sha256"});
      a.identity.basicUser = getString(*basic, p + "basic_auth.", "user", "");
      a.identity.basicPasswordSha256 =
          lowerHex(getString(*basic, p + "basic_auth.", "password_sha256", ""));
      if (a.identity.basicUser.empty()) bad(p + "basic_auth.user", "required");
      if (!isHex(a.identity.basicPasswordSha256, 64)) {
        bad(p + "basic_auth.password_sha256", "must be the SHA-256 of the password, 64 hex digits");
      }
    }
    a.identity.certSubject = getString(t, p, "tls_subject", "");
    a.identity.certFingerprint = lowerHex(getString(t, p, "tls_fingerprint", ""));
    if (!a.identity.certFingerprint.empty() && !isHex(a.identity.certFingerprint, 64)) {
      bad(p + "tls_fingerprint", "must be a SHA-256 fingerprint, 64 hex digits (colons allowed)");
    }
    if (a.identity.basicUser.empty() && a.identity.certSubject.empty() &&
        a.identity.certFingerprint.empty()) {
      bad(p + "basic_auth",
          "an application server needs basic_auth, tls_subject or tls_fingerprint");
    }
    a.rights.packages = getStrings(t, p, "packages", packages);
    for (const auto& pkg : a.rights.packages) {
      if (std::find(packages.begin(), packages.end(), pkg) == packages.end()) {
        bad(p + "packages", "'" + pkg + "' is not in contact_me.packages");
      }
    }
    a.rights.callbackServers = getStrings(t, p, "callback_servers", {});
    for (const auto& pat : a.rights.callbackServers)
      checkCallbackPattern(p + "callback_servers", pat);
    a.rights.actsFor = getStrings(t, p, "acts_for", {});
    a.rights.mayQueryDevices = getBool(t, p, "query_devices", false);
    if (const toml::node* rate = t.get("rate")) {
      if (!rate->is_number() || rate->value<double>().value() < 0)
        bad(p + "rate", "must be a number >= 0");
      a.rights.requestsPerSecond = rate->value<double>().value();
    }
    a.rights.noticeUrl = getString(t, p, "notice_url", "");
    if (!a.rights.noticeUrl.empty() && a.rights.noticeUrl.rfind("http://", 0) != 0 &&
        a.rights.noticeUrl.rfind("https://", 0) != 0) {
      bad(p + "notice_url", "must be an http:// or https:// URL");
    }
    out.push_back(std::move(a));
  }
  for (const auto& a : out) {
    for (const auto& other : a.rights.actsFor) {
      if (std::none_of(out.begin(), out.end(),
                       [&](const auto& x) { return x.rights.name == other; })) {
        bad("app_server." + a.rights.name + ".acts_for",
            "'" + other + "' is not an application server");
      }
    }
  }
  return out;
}

void parseNotices(const toml::table& t, soap::NoticeConfig& n) {
  const std::string p = "notices.";
  onlyKeys(t, p, {"ca", "attempts", "first_backoff_ms", "max_backoff_ms", "timeout_ms"});
  n.caFile = caFile(t, p, "ca");
  n.attempts = static_cast<unsigned>(getInt(t, p, "attempts", n.attempts, 1, 100));
  n.firstBackoff = std::chrono::milliseconds(
      getInt(t, p, "first_backoff_ms", n.firstBackoff.count(), 10, 3600000));
  n.maxBackoff =
      std::chrono::milliseconds(getInt(t, p, "max_backoff_ms", n.maxBackoff.count(), 10, 3600000));
  n.timeout = std::chrono::milliseconds(getInt(t, p, "timeout_ms", n.timeout.count(), 100, 600000));
  if (n.maxBackoff < n.firstBackoff)
    bad(p + "max_backoff_ms", "must not be below first_backoff_ms");
}

std::vector<sip::NotifyCredential> parseNotifyCredentials(const toml::table& root) {
  std::vector<sip::NotifyCredential> out;
  const toml::node* n = root.get("notify_credentials");
  if (!n) return out;
  if (!n->is_array_of_tables())
    bad("notify_credentials", "must be an array of tables ([[notify_credentials]])");
  std::size_t i = 0;
  for (const toml::node& e : *n->as_array()) {
    const toml::table& t = *e.as_table();
    const std::string p = "notify_credentials[" + std::to_string(i++) + "].";
    onlyKeys(t, p, {"realm", "device", "user", "password"});
    sip::NotifyCredential c;
    c.realm = getString(t, p, "realm", "");
    const std::string device = getString(t, p, "device", "");
    if (!device.empty()) {
      c.device = lookupKeys(device);
      if (c.device.empty()) bad(p + "device", "'" + device + "' is not a device id");
    }
    if (c.realm.empty() && device.empty()) bad(p + "realm", "give realm, device or both");
    c.user = getString(t, p, "user", "");
    c.password = getString(t, p, "password", "");
    if (c.user.empty()) bad(p + "user", "required");
    if (c.password.empty()) bad(p + "password", "required");
    out.push_back(std::move(c));
  }
  return out;
}

// [sip.auth] and its [[sip.auth.user]]s.
sip::SipAuthConfig parseSipAuth(const toml::table& t) {
  const std::string p = "sip.auth.";
  onlyKeys(t, p,
           {"realm", "nonce_lifetime_s", "methods", "algorithms", "offer", "user",
            "source_failure_limit", "user_failure_limit", "failure_window_s", "block_s"});
  sip::SipAuthConfig out;
  sip::DigestConfig d;
  d.realm = getString(t, p, "realm", "");
  if (d.realm.empty()) bad(p + "realm", "required");
  if (std::any_of(d.realm.begin(), d.realm.end(), [](unsigned char ch) {
        return ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\';
      })) {
    bad(p + "realm", "must not contain quotes, backslashes or control characters");
  }
  d.nonceLifetime =
      std::chrono::seconds(getInt(t, p, "nonce_lifetime_s", d.nonceLifetime.count(), 10, 86400));
  sip::AuthLimits& l = out.limits;
  l.sourceFailures =
      static_cast<unsigned>(getInt(t, p, "source_failure_limit", l.sourceFailures, 0, 1000000));
  l.userFailures =
      static_cast<unsigned>(getInt(t, p, "user_failure_limit", l.userFailures, 0, 1000000));
  l.window = std::chrono::seconds(getInt(t, p, "failure_window_s", l.window.count(), 1, 86400));
  l.block = std::chrono::seconds(getInt(t, p, "block_s", l.block.count(), 1, 86400));
  out.authMethods = getStrings(t, p, "methods", out.authMethods);
  if (out.authMethods.empty()) bad(p + "methods", "must name REGISTER, SUBSCRIBE or both");
  for (const auto& m : out.authMethods) {
    if (m != "REGISTER" && m != "SUBSCRIBE") {
      bad(p + "methods", "'" + m + "' is not REGISTER or SUBSCRIBE");
    }
  }
  if (t.contains("algorithms")) {
    d.algorithms.clear();
    for (const auto& a : getStrings(t, p, "algorithms", {})) {
      if (a != "MD5" && a != "SHA-256") bad(p + "algorithms", "'" + a + "' is not MD5 or SHA-256");
      const auto algorithm = a == "MD5" ? sip::DigestAlgorithm::Md5 : sip::DigestAlgorithm::Sha256;
      if (std::find(d.algorithms.begin(), d.algorithms.end(), algorithm) != d.algorithms.end())
        bad(p + "algorithms", "'" + a + "' is named twice");
      d.algorithms.push_back(algorithm);
    }
    if (d.algorithms.empty()) bad(p + "algorithms", "must name MD5, SHA-256 or both");
  }
  const std::string offer = getString(t, p, "offer", "per-user");
  if (offer == "all") {
    d.offer = sip::DigestOffer::All;
  } else if (offer != "per-user") {
    bad(p + "offer", "'" + offer + "' is not per-user or all");
  }
  const toml::node* n = t.get("user");
  if (!n) bad(p + "user", "at least one [[sip.auth.user]] is required");
  if (!n->is_array_of_tables()) bad(p + "user", "must be an array of tables ([[sip.auth.user]])");
  std::size_t i = 0;
  for (const toml::node& e : *n->as_array()) {
    const toml::table& u = *e.as_table();
    std::string q = p + "user[" + std::to_string(i++) + "].";
    onlyKeys(u, q, {"user", "ha1_md5", "ha1_sha256"});
    sip::DigestUser du;
    du.user = getString(u, q, "user", "");
    if (du.user.empty()) bad(q + "user", "required");
    for (const auto& other : d.users) {
      if (other.user == du.user) bad(q + "user", "'" + du.user + "' is used twice");
    }
    q = p + "user." + du.user + ".";
    du.ha1Md5 = lowerHex(getString(u, q, "ha1_md5", ""));
    du.ha1Sha256 = lowerHex(getString(u, q, "ha1_sha256", ""));
    if (!du.ha1Md5.empty() && !isHex(du.ha1Md5, 32)) {
      bad(q + "ha1_md5", "must be MD5(user:realm:password), 32 hex digits");
    }
    if (!du.ha1Sha256.empty() && !isHex(du.ha1Sha256, 64)) {
      bad(q + "ha1_sha256", "must be SHA-256(user:realm:password), 64 hex digits");
    }
    if (du.ha1Md5.empty() && du.ha1Sha256.empty())
      bad(q + "ha1_md5", "give ha1_md5, ha1_sha256 or both");
    d.users.push_back(std::move(du));
  }
  if (d.users.empty()) bad(p + "user", "at least one [[sip.auth.user]] is required");
  const auto offered = [&](sip::DigestAlgorithm a) {
    return std::find(d.algorithms.begin(), d.algorithms.end(), a) != d.algorithms.end();
  };
  if (std::none_of(d.users.begin(), d.users.end(), [&](const sip::DigestUser& u) {
        return (offered(sip::DigestAlgorithm::Md5) && !u.ha1Md5.empty()) ||
               (offered(sip::DigestAlgorithm::Sha256) && !u.ha1Sha256.empty());
      })) {
    bad(p + "algorithms", "no [[sip.auth.user]] has an HA1 for the algorithms named");
  }
  out.auth = std::move(d);
  return out;
}

// [limits]: what beckond takes at most (docs/configuration.md says why each
// default is what it is).
Limits parseLimits(const toml::table& t) {
  const std::string p = "limits.";
  onlyKeys(
      t, p,
      {"sip_max_message_bytes", "sip_max_headers", "sip_max_contacts", "bindings_per_aor",
       "subscriptions_per_device", "aor_rate", "aor_burst", "aor_tracked", "sip_connections",
       "sip_connections_per_source", "sip_first_message_ms", "sip_message_timeout_ms",
       "sip_idle_ms", "soap_connections", "soap_connections_per_source", "soap_request_timeout_ms",
       "soap_header_timeout_ms", "queued_requests", "queued_requests_per_app_server"});
  Limits l;
  auto count = [&](const char* key, auto fallback, std::int64_t min, std::int64_t max) {
    return static_cast<decltype(fallback)>(
        getInt(t, p, key, static_cast<std::int64_t>(fallback), min, max));
  };
  auto ms = [&](const char* key, std::chrono::milliseconds fallback, std::int64_t min,
                std::int64_t max) {
    return std::chrono::milliseconds(getInt(t, p, key, fallback.count(), min, max));
  };
  l.sipMaxMessageBytes = count("sip_max_message_bytes", l.sipMaxMessageBytes, 1024, 1 << 20);
  l.sipMaxHeaders = count("sip_max_headers", l.sipMaxHeaders, 16, 4096);
  l.sipMaxContacts = count("sip_max_contacts", l.sipMaxContacts, 1, 1000);
  l.bindingsPerAor = count("bindings_per_aor", l.bindingsPerAor, 1, 100000);
  l.subscriptionsPerDevice = count("subscriptions_per_device", l.subscriptionsPerDevice, 1, 1000);
  if (const toml::node* rate = t.get("aor_rate")) {
    if (!rate->is_number() || rate->value<double>().value() < 0 ||
        rate->value<double>().value() > 1e6)
      bad(p + "aor_rate", "must be a number from 0 (no limit) to 1000000");
    l.aorRate = rate->value<double>().value();
  }
  l.aorBurst = count("aor_burst", l.aorBurst, 1, 1000000);
  l.aorTracked = count("aor_tracked", l.aorTracked, 1, 100000000);
  l.sipConnections = count("sip_connections", l.sipConnections, 1, 1000000);
  l.sipConnectionsPerSource =
      count("sip_connections_per_source", l.sipConnectionsPerSource, 1, 1000000);
  l.sipFirstMessage = ms("sip_first_message_ms", l.sipFirstMessage, 100, 3600000);
  l.sipMessageTimeout = ms("sip_message_timeout_ms", l.sipMessageTimeout, 100, 3600000);
  l.sipIdle = ms("sip_idle_ms", l.sipIdle, 1000, 86400000);
  l.soapConnections = count("soap_connections", l.soapConnections, 1, 1000000);
  l.soapConnectionsPerSource =
      count("soap_connections_per_source", l.soapConnectionsPerSource, 1, 1000000);
  l.soapRequestTimeout = ms("soap_request_timeout_ms", l.soapRequestTimeout, 100, 3600000);
  l.soapHeaderTimeout = ms("soap_header_timeout_ms", l.soapHeaderTimeout, 100, 600000);
  l.queuedRequests = count("queued_requests", l.queuedRequests, 1, 100000000);
  l.queuedRequestsPerAppServer =
      count("queued_requests_per_app_server", l.queuedRequestsPerAppServer, 1, 100000000);
  return l;
}

// An address of record in the configuration: a sip:/sips: URI, or a user
// part alone (then in sip.domain).
std::string configuredAor(const std::string& key, const std::string& value,
                          const std::string& domain) {
  std::string uri = value;
  if (value.rfind("sip:", 0) != 0 && value.rfind("sips:", 0) != 0) {
    if (domain.empty()) bad(key, "'" + value + "' needs sip.domain, or write sip:user@domain");
    uri = "sip:" + value + "@" + domain;
  }
  const auto aor = normaliseAor(uri);
  if (!aor || aor->find('@') == std::string::npos)
    bad(key, "'" + value + "' is not an address of record (sip:user@domain)");
  return *aor;
}

std::string configuredUri(const toml::table& t, const std::string& prefix, const char* key) {
  const std::string uri = getString(t, prefix, key, "");
  if (!uri.empty() && !sip::isSipUri(uri))
    bad(prefix + key, "'" + uri + "' is not a sip: or sips: URI");
  return uri;
}

// "proxy" or "b2bua" (the key `mode` of `t`), `fallback` when absent.
sip::CallMode callMode(const toml::table& t, const std::string& prefix, sip::CallMode fallback) {
  const std::string name = getString(t, prefix, "mode", sip::toString(fallback));
  const auto mode = sip::callModeFrom(name);
  if (!mode) bad(prefix + "mode", "'" + name + "' is not proxy or b2bua");
  return *mode;
}

// [proxy] and its [[proxy.user]]s, after [sip] (domain, auth).
void parseProxy(const toml::table& t, Config& c) {
  const std::string p = "proxy.";
  onlyKeys(t, p,
           {"enabled", "record_route", "follow_redirects", "relay", "authenticate", "domains",
            "user", "dialog_key_lifetime_s", "mode"});
  sip::ProxyConfig& x = c.sip.proxy;
  x.enabled = getBool(t, p, "enabled", x.enabled);
  x.recordRoute = getBool(t, p, "record_route", x.recordRoute);
  x.followRedirects = getBool(t, p, "follow_redirects", x.followRedirects);
  x.relay = getBool(t, p, "relay", x.relay);
  x.authenticate = getBool(t, p, "authenticate", x.authenticate);
  if (x.authenticate && !c.sip.auth.auth) bad(p + "authenticate", "needs [sip.auth]");
  x.dialogKeyLifetime = std::chrono::seconds(
      getInt(t, p, "dialog_key_lifetime_s", x.dialogKeyLifetime.count(), 60, 31536000));
  x.mode = callMode(t, p, x.mode);
  const std::string& domain = c.sip.registrar.domain;
  x.domains = getStrings(t, p, "domains", {});
  for (auto& d : x.domains) {
    if (domain.empty()) bad(p + "domains", "needs sip.domain (without it every domain is served)");
    if (d.empty() || d.find_first_of(" :;@<>\"") != std::string::npos)
      bad(p + "domains", "'" + d + "' is not a domain name");
    std::transform(d.begin(), d.end(), d.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
  }
  auto ours = [&](const std::string& aor) {
    if (domain.empty()) return true;
    const std::string host = aor.substr(aor.rfind('@') + 1);  // lower case (normaliseAor)
    std::string lowered = domain;
    std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
    return host == lowered ||
           std::find(x.domains.begin(), x.domains.end(), host) != x.domains.end();
  };
  const toml::node* n = t.get("user");
  if (!n) return;
  if (!n->is_array_of_tables()) bad(p + "user", "must be an array of tables ([[proxy.user]])");
  std::size_t i = 0;
  for (const toml::node& e : *n->as_array()) {
    const toml::table& u = *e.as_table();
    std::string q = p + "user[" + std::to_string(i++) + "].";
    onlyKeys(u, q,
             {"aor", "fork", "ring_seconds", "targets", "forward_no_answer_seconds", "forward_to",
              "voicemail", "mode"});
    sip::ProxyUser user;
    const std::string aor = getString(u, q, "aor", "");
    if (aor.empty()) bad(q + "aor", "required");
    user.aor = configuredAor(q + "aor", aor, domain);
    if (!ours(user.aor)) bad(q + "aor", "'" + aor + "' is not in sip.domain or proxy.domains");
    for (const auto& other : x.users) {
      if (other.aor == user.aor) bad(q + "aor", "'" + aor + "' is used twice");
    }
    q = p + "user." + user.aor + ".";
    const std::string fork = getString(u, q, "fork", "q");
    const auto mode = sip::forkModeFrom(fork);
    if (!mode) bad(q + "fork", "'" + fork + "' is not parallel, sequential or q");
    user.fork = *mode;
    user.ring = std::chrono::seconds(getInt(u, q, "ring_seconds", 0, 0, 3600));
    user.targets = getStrings(u, q, "targets", {});
    for (const auto& target : user.targets) {
      if (!sip::isSipUri(target)) bad(q + "targets", "'" + target + "' is not a sip: or sips: URI");
      if (normaliseAor(target) == user.aor)
        bad(q + "targets", "'" + target + "' is the aor itself");
    }
    user.forwardNoAnswer =
        std::chrono::seconds(getInt(u, q, "forward_no_answer_seconds", 0, 0, 3600));
    user.forwardTo = configuredUri(u, q, "forward_to");
    user.voicemail = configuredUri(u, q, "voicemail");
    if (user.forwardNoAnswer.count() > 0 && user.forwardTo.empty() && user.voicemail.empty())
      bad(q + "forward_no_answer_seconds", "needs forward_to or voicemail");
    for (const std::string* to : {&user.forwardTo, &user.voicemail}) {
      if (!to->empty() && normaliseAor(*to) == user.aor)
        bad(q + (to == &user.forwardTo ? "forward_to" : "voicemail"),
            "'" + *to + "' is the aor itself");
    }
    if (u.get("mode")) user.mode = callMode(u, q, x.mode);
    x.users.push_back(std::move(user));
  }
}

// [b2bua]: the back-to-back user agent's limits and timers.
void parseB2bua(const toml::table& t, Config& c) {
  const std::string p = "b2bua.";
  onlyKeys(t, p, {"continuity_timeout_s", "max_calls", "session_expires_s"});
  sip::B2buaConfig& x = c.sip.proxy.b2bua;
  x.continuityTimeout = std::chrono::seconds(
      getInt(t, p, "continuity_timeout_s", x.continuityTimeout.count(), 1, 3600));
  x.maxCalls = static_cast<unsigned>(getInt(t, p, "max_calls", x.maxCalls, 1, 1000000));
  const auto expires = getInt(t, p, "session_expires_s", x.sessionExpires.count(), 0, 86400);
  // RFC 4028 4: a Session-Expires below 90 s is refused (Min-SE).
  if (expires != 0 && expires < 90) bad(p + "session_expires_s", "must be 0 (off) or at least 90");
  x.sessionExpires = std::chrono::seconds(expires);
}

}  // namespace

void checkLogLevel(const std::string& level, const std::string& key) {
  static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error"};
  if (!levels.count(level))
    bad(key, "'" + level + "' is not one of trace, debug, info, warn, error");
}

void setSoapListen(soap::SoapConfig& soap, const std::string& hostport, const std::string& key) {
  const auto colon = hostport.rfind(':');
  if (colon == std::string::npos || colon == 0) bad(key, "'" + hostport + "' is not HOST:PORT");
  std::string host = hostport.substr(0, colon);
  const std::string port = hostport.substr(colon + 1);
  if (host.front() == '[') {
    if (host.back() != ']') bad(key, "'" + hostport + "' has an unterminated [IPv6] host");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    bad(key, "write an IPv6 host as [" + host + "]");
  }
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) > 65535) {
    bad(key, "'" + port + "' is not a port (0-65535)");
  }
  soap.host = host;
  soap.port = static_cast<std::uint16_t>(std::stoul(port));
}

// [cluster]: the node's name (its keys in Redis) and the SIP URI other nodes
// reach it by.
void parseCluster(const toml::table& t, Config& c) {
  onlyKeys(t, "cluster.", {"node", "advertise"});
  // node: the host name unless set.
  c.redis.node = getString(t, "cluster.", "node", c.redis.node);
  if (c.redis.node.empty() || c.redis.node.size() > 64 ||
      !std::all_of(c.redis.node.begin(), c.redis.node.end(), [](unsigned char ch) {
        return std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.';
      })) {
    bad("cluster.node", "must be 1 to 64 letters, digits, '-', '_' or '.'");
  }
  c.redis.advertise = getString(t, "cluster.", "advertise", c.redis.advertise);
  if (!c.redis.advertise.empty()) {
    su_home_t home[1] = {SU_HOME_INIT(home)};
    const url_t* url = url_hdup(home, URL_STRING_MAKE(c.redis.advertise.c_str())->us_url);
    const bool sip = url && (url->url_type == url_sip || url->url_type == url_sips) &&
                     url->url_host && *url->url_host;
    su_home_deinit(home);
    if (!sip)
      bad("cluster.advertise",
          "must be a SIP URI (sip:host:port), not \"" + c.redis.advertise + "\"");
  }
}

Config parseConfig(const std::string& text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream where;
    where << e.source().begin;
    throw ConfigError(source + ":" + where.str() + ": " + std::string(e.description()));
  }
  onlyKeys(root, "",
           {"sip", "soap", "store", "log", "contact_me", "app_server", "notices",
            "notify_credentials", "proxy", "b2bua", "limits", "push", "cluster"});
  Config c;
  {
    char host[256] = {};
    c.redis.node = gethostname(host, sizeof host - 1) == 0 && *host ? host : "beckon";
    c.redis.node = c.redis.node.substr(0, c.redis.node.find('.'));
  }

  if (const toml::table* t = section(root, "sip")) {
    onlyKeys(*t, "sip.",
             {"listen", "domain", "min_expires", "max_expires", "default_expires", "auth", "tls",
              "udp_receive_buffer"});
    c.sip.udpReceiveBuffer = static_cast<unsigned>(
        getInt(*t, "sip.", "udp_receive_buffer", c.sip.udpReceiveBuffer, 65536, 1 << 30));
    if (const toml::table* a = sectionOf(*t, "sip.", "auth")) c.sip.auth = parseSipAuth(*a);
    if (const toml::table* tls = sectionOf(*t, "sip.", "tls")) c.sip.tls = parseSipTls(*tls);
    c.sip.listen = getStrings(*t, "sip.", "listen", c.sip.listen);
    if (c.sip.listen.empty()) bad("sip.listen", "must name at least one address");
    for (const auto& spec : c.sip.listen) {
      if (spec.rfind("tls:", 0) == 0 && !c.sip.tls)
        bad("sip.listen", "'" + spec + "' needs [sip.tls] cert and key");
    }
    for (const auto& spec : c.sip.listen) {
      try {
        sip::listenUrl(spec);
      } catch (const std::invalid_argument& e) {
        bad("sip.listen", e.what());
      }
    }
    auto& r = c.sip.registrar;
    r.domain = getString(*t, "sip.", "domain", r.domain);
    r.minExpires = static_cast<unsigned>(getInt(*t, "sip.", "min_expires", r.minExpires, 1, 86400));
    r.maxExpires =
        static_cast<unsigned>(getInt(*t, "sip.", "max_expires", r.maxExpires, 1, 31536000));
    r.defaultExpires =
        static_cast<unsigned>(getInt(*t, "sip.", "default_expires", r.defaultExpires, 1, 31536000));
    if (r.maxExpires < r.minExpires) bad("sip.max_expires", "must not be below sip.min_expires");
  }

  if (const toml::table* t = section(root, "contact_me")) {
    onlyKeys(*t, "contact_me.",
             {"packages", "notify_timeout_ms", "keep_ended_seconds", "subscribe_registrations"});
    c.core.packages = getStrings(*t, "contact_me.", "packages", c.core.packages);
    if (c.core.packages.empty()) bad("contact_me.packages", "must name at least one package");
    for (const auto& p : c.core.packages) {
      if (!isToken(p)) bad("contact_me.packages", "'" + p + "' is not a token");
    }
    c.sip.notifyTimeout = std::chrono::milliseconds(
        getInt(*t, "contact_me.", "notify_timeout_ms", c.sip.notifyTimeout.count(), 100, 64000));
    c.core.keepEnded = std::chrono::seconds(getInt(*t, "contact_me.", "keep_ended_seconds",
                                                   c.core.keepEnded.count(), 3600, 30 * 86400));
    c.sip.registrar.everyRegistration =
        getStrings(*t, "contact_me.", "subscribe_registrations", {});
    for (const auto& p : c.sip.registrar.everyRegistration) {
      if (std::find(c.core.packages.begin(), c.core.packages.end(), p) == c.core.packages.end())
        bad("contact_me.subscribe_registrations", "'" + p + "' is not in contact_me.packages");
    }
  }
  c.sip.registrar.packages = c.core.packages;

  // The proxy authenticates callers when devices authenticate ([sip.auth]),
  // unless [proxy] says otherwise.
  c.sip.proxy.authenticate = c.sip.auth.auth.has_value();
  if (const toml::table* t = section(root, "proxy")) parseProxy(*t, c);
  if (const toml::table* t = section(root, "b2bua")) parseB2bua(*t, c);

  if (const toml::table* t = section(root, "soap")) {
    onlyKeys(*t, "soap.",
             {"listen", "workers", "recv_timeout_ms", "send_timeout_ms", "max_body_bytes", "tls"});
    if (const toml::table* tls = sectionOf(*t, "soap.", "tls")) c.soap.tls = parseSoapTls(*tls);
    if (t->get("listen"))
      setSoapListen(c.soap, getString(*t, "soap.", "listen", ""), "soap.listen");
    c.soap.workers = static_cast<unsigned>(getInt(*t, "soap.", "workers", c.soap.workers, 1, 1024));
    c.soap.recvTimeoutMs =
        static_cast<int>(getInt(*t, "soap.", "recv_timeout_ms", c.soap.recvTimeoutMs, 100, 600000));
    c.soap.sendTimeoutMs =
        static_cast<int>(getInt(*t, "soap.", "send_timeout_ms", c.soap.sendTimeoutMs, 100, 600000));
    c.soap.maxBodyBytes = static_cast<std::size_t>(
        getInt(*t, "soap.", "max_body_bytes", static_cast<std::int64_t>(c.soap.maxBodyBytes), 1024,
               16 << 20));
  }

  c.appServers = parseAppServers(root, c.core.packages);
  for (const auto& a : c.appServers) {
    if (!a.identity.basicUser.empty() && !c.soap.tls) {
      bad("app_server." + a.rights.name + ".basic_auth",
          "HTTP Basic is only taken over TLS: configure [soap.tls]");
    }
    if ((!a.identity.certSubject.empty() || !a.identity.certFingerprint.empty()) &&
        (!c.soap.tls || c.soap.tls->clientCerts == soap::SoapTls::ClientCerts::None)) {
      bad("app_server." + a.rights.name + ".tls_subject",
          "client certificates need [soap.tls] with client_certs optional or required");
    }
    c.soap.identities.push_back(a.identity);
    if (!a.rights.noticeUrl.empty()) {
      c.notices.targets.push_back({a.rights.name, a.rights.noticeUrl, a.rights.packages});
    }
  }
  if (const toml::table* t = section(root, "notices")) parseNotices(*t, c.notices);
  c.sip.notifyCredentials = parseNotifyCredentials(root);

  if (const toml::table* t = section(root, "store")) {
    onlyKeys(*t, "store.", {"path", "synchronous", "backend", "redis_url"});
    c.storeBackend = getString(*t, "store.", "backend", c.storeBackend);
    if (c.storeBackend != "sqlite" && c.storeBackend != "redis")
      bad("store.backend", "must be \"sqlite\" or \"redis\", not \"" + c.storeBackend + "\"");
    c.redis.url = getString(*t, "store.", "redis_url", c.redis.url);
    try {
      if (store::parseRedisUrl(c.redis.url).tls) {
        bad("store.redis_url",
            "rediss:// (TLS) needs hiredis_ssl, which Debian 12's libhiredis-dev (0.14) does not "
            "have: reach Redis over loopback, a private network or a TLS tunnel (docs/cluster.md)");
      }
    } catch (const std::invalid_argument& e) {
      bad("store.redis_url", std::string(e.what()) + " (redis://[:password@]host:port/db)");
    }
    c.store.path = getString(*t, "store.", "path", c.store.path);
    c.store.synchronous = getString(*t, "store.", "synchronous", c.store.synchronous);
    if (c.store.synchronous != "full" && c.store.synchronous != "normal") {
      throw ConfigError("store.synchronous: must be \"full\" or \"normal\", not \"" +
                        c.store.synchronous + "\"");
    }
  }

  if (const toml::table* t = section(root, "cluster")) parseCluster(*t, c);

  if (const toml::table* t = section(root, "push")) parsePush(*t, c);

  if (const toml::table* t = section(root, "limits")) c.limits = parseLimits(*t);
  c.sip.limits = c.limits;
  c.soap.limits = c.limits;
  c.core.limits = c.limits;

  if (const toml::table* t = section(root, "log")) {
    onlyKeys(*t, "log.", {"level", "format"});
    c.logLevel = getString(*t, "log.", "level", c.logLevel);
    checkLogLevel(c.logLevel, "log.level");
    c.logFormat = getString(*t, "log.", "format", c.logFormat);
    if (c.logFormat != "plain" && c.logFormat != "json") bad("log.format", "must be plain or json");
  }
  return c;
}

std::vector<std::string> keysNeedingRestart(const Config& a, const Config& b) {
  std::vector<std::string> keys;
  auto check = [&](const char* key, bool same) {
    if (!same) keys.emplace_back(key);
  };
  auto sameSipTls = [](const std::optional<sip::SipTls>& x, const std::optional<sip::SipTls>& y) {
    return x.has_value() == y.has_value() &&
           (!x || (x->cert == y->cert && x->key == y->key && x->ca == y->ca));
  };
  auto sameSoapTls = [](const std::optional<soap::SoapTls>& x,
                        const std::optional<soap::SoapTls>& y) {
    return x.has_value() == y.has_value() &&
           (!x || (x->certFile == y->certFile && x->keyFile == y->keyFile &&
                   x->caFile == y->caFile && x->clientCerts == y->clientCerts));
  };
  check("sip.listen", a.sip.listen == b.sip.listen);
  check("sip.domain", a.sip.registrar.domain == b.sip.registrar.domain);
  check("sip.min_expires", a.sip.registrar.minExpires == b.sip.registrar.minExpires);
  check("sip.max_expires", a.sip.registrar.maxExpires == b.sip.registrar.maxExpires);
  check("sip.default_expires", a.sip.registrar.defaultExpires == b.sip.registrar.defaultExpires);
  check("sip.udp_receive_buffer", a.sip.udpReceiveBuffer == b.sip.udpReceiveBuffer);
  check("sip.tls", sameSipTls(a.sip.tls, b.sip.tls));
  check("soap.listen", a.soap.host == b.soap.host && a.soap.port == b.soap.port);
  check("soap.workers", a.soap.workers == b.soap.workers);
  check("soap.recv_timeout_ms", a.soap.recvTimeoutMs == b.soap.recvTimeoutMs);
  check("soap.send_timeout_ms", a.soap.sendTimeoutMs == b.soap.sendTimeoutMs);
  check("soap.max_body_bytes", a.soap.maxBodyBytes == b.soap.maxBodyBytes);
  check("soap.tls", sameSoapTls(a.soap.tls, b.soap.tls));
  check("contact_me.packages", a.core.packages == b.core.packages);
  check("contact_me.notify_timeout_ms", a.sip.notifyTimeout == b.sip.notifyTimeout);
  check("contact_me.keep_ended_seconds", a.core.keepEnded == b.core.keepEnded);
  check("contact_me.subscribe_registrations",
        a.sip.registrar.everyRegistration == b.sip.registrar.everyRegistration);
  check("notices",
        a.notices.caFile == b.notices.caFile && a.notices.attempts == b.notices.attempts &&
            a.notices.firstBackoff == b.notices.firstBackoff &&
            a.notices.maxBackoff == b.notices.maxBackoff && a.notices.timeout == b.notices.timeout);
  check("store.path", a.store.path == b.store.path);
  check("store.synchronous", a.store.synchronous == b.store.synchronous);
  check("store.backend", a.storeBackend == b.storeBackend);
  check("store.redis_url", a.redis.url == b.redis.url);
  check("cluster", a.redis.node == b.redis.node && a.redis.advertise == b.redis.advertise);
  check("log.format", a.logFormat == b.logFormat);
  check("limits", a.limits == b.limits);
  check("proxy", a.sip.proxy == b.sip.proxy);
  check("push", a.push == b.push);
  return keys;
}

Config loadConfig(const std::string& path) {
  if (isDirectory(path)) throw ConfigError(path + ": is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  return parseConfig(text.str(), path);
}

}  // namespace beckon::app
