#include "digest_client.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <sstream>

namespace beckon::ua {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string unquote(std::string v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
    std::string out;
    for (std::size_t i = 1; i + 1 < v.size(); ++i) {
      if (v[i] == '\\' && i + 2 < v.size()) ++i;
      out += v[i];
    }
    return out;
  }
  return v;
}

bool sha256(const DigestChallenge& c) {
  const auto it = c.params.find("algorithm");
  return it != c.params.end() && lower(it->second) == "sha-256";
}

bool md5(const DigestChallenge& c) {
  const auto it = c.params.find("algorithm");
  return it == c.params.end() || lower(it->second) == "md5";
}

bool qopOk(const DigestChallenge& c) {
  const auto it = c.params.find("qop");
  if (it == c.params.end()) return true;
  std::istringstream in(it->second);
  for (std::string tok; std::getline(in, tok, ',');) {
    tok.erase(
        std::remove_if(tok.begin(), tok.end(), [](unsigned char ch) { return std::isspace(ch); }),
        tok.end());
    if (lower(tok) == "auth") return true;
  }
  return false;
}

std::string hash(const std::string& text, bool useSha256) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(text.data(), text.size(), out, &n, useSha256 ? EVP_sha256() : EVP_md5(), nullptr);
  std::string hex;
  char buf[3];
  for (unsigned int i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", out[i]);
    hex += buf;
  }
  return hex;
}

std::string quoted(const std::string& v) {
  std::string out = "\"";
  for (char ch : v) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

}  // namespace

std::optional<DigestChallenge> pickChallenge(const std::vector<DigestChallenge>& challenges) {
  for (const bool wantSha : {true, false}) {
    for (const auto& c : challenges) {
      if (lower(c.scheme) != "digest" || !c.params.count("realm") || !c.params.count("nonce") ||
          !qopOk(c))
        continue;
      if (wantSha ? sha256(c) : md5(c)) return c;
    }
  }
  return std::nullopt;
}

std::string digestAuthorization(const DigestChallenge& c, const DigestInput& in) {
  const bool useSha = sha256(c);
  const std::string& realm = c.params.at("realm");
  const std::string& nonce = c.params.at("nonce");
  const bool qop = c.params.count("qop") > 0;
  char nc[9];
  std::snprintf(nc, sizeof nc, "%08x", in.nc);
  const std::string ha1 = hash(in.user + ":" + realm + ":" + in.password, useSha);
  const std::string ha2 = hash(in.method + ":" + in.uri, useSha);
  const std::string response =
      qop ? hash(ha1 + ":" + nonce + ":" + nc + ":" + in.cnonce + ":auth:" + ha2, useSha)
          : hash(ha1 + ":" + nonce + ":" + ha2, useSha);
  std::string h = "Digest username=" + quoted(in.user) + ", realm=" + quoted(realm) +
                  ", nonce=" + quoted(nonce) + ", uri=" + quoted(in.uri) +
                  ", response=" + quoted(response) + ", algorithm=" + (useSha ? "SHA-256" : "MD5");
  if (qop) h += ", cnonce=" + quoted(in.cnonce) + ", qop=auth, nc=" + nc;
  const auto opaque = c.params.find("opaque");
  if (opaque != c.params.end()) h += ", opaque=" + quoted(opaque->second);
  return h;
}

DigestChallenge challengeOf(const char* scheme, const char* const* params) {
  DigestChallenge c;
  c.scheme = scheme ? scheme : "";
  for (; params && *params; ++params) {
    const std::string p = *params;
    const auto eq = p.find('=');
    if (eq == std::string::npos) continue;
    std::string name = lower(p.substr(0, eq));
    name.erase(
        std::remove_if(name.begin(), name.end(), [](unsigned char ch) { return std::isspace(ch); }),
        name.end());
    c.params[name] = unquote(p.substr(eq + 1));
  }
  return c;
}

}  // namespace beckon::ua
