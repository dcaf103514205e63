#include "fixture.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace soaptest {

namespace {

void run(const std::string& command) {
  if (std::system((command + " >/dev/null 2>&1").c_str()) != 0)
    throw std::runtime_error("test PKI: failed: " + command);
}

std::string output(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) throw std::runtime_error("test PKI: cannot run " + command);
  char buf[512];
  while (std::fgets(buf, sizeof buf, p))
    out += buf;
  ::pclose(p);
  return out;
}

struct Pki : TestPki {
  Pki() {
    char templ[] = "/tmp/beckon-soap-pki-XXXXXX";
    if (!::mkdtemp(templ)) throw std::runtime_error("test PKI: mkdtemp failed");
    dir = templ;
    const std::string d = dir + "/";
    const std::string key = "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
    run(key + "-x509 -days 2 -subj '/CN=beckon test CA' -keyout " + d + "ca.key -out " + d +
        "ca.pem");
    auto issue = [&](const std::string& name, const std::string& subject,
                     const std::string& extensions) {
      run(key + "-subj '" + subject + "' -keyout " + d + name + ".key -out " + d + name + ".csr");
      std::ofstream(d + name + ".ext") << extensions << '\n';
      run("openssl x509 -req -days 2 -in " + d + name + ".csr -CA " + d + "ca.pem -CAkey " + d +
          "ca.key -CAcreateserial -extfile " + d + name + ".ext -out " + d + name + ".pem");
    };
    issue("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    issue("client", "/O=Beckon Test/CN=crm", "extendedKeyUsage=clientAuth");
    run(key + "-x509 -days 2 -subj '/O=Beckon Test/CN=crm' -keyout " + d + "rogue.key -out " + d +
        "rogue.pem");
  }
  ~Pki() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

}  // namespace

std::string TestPki::fingerprint(const std::string& cert) const {
  // "sha256 Fingerprint=AB:CD:..." (the spelling varies between versions)
  const std::string line = output("openssl x509 -noout -fingerprint -sha256 -in " + path(cert));
  const std::size_t eq = line.find('=');
  if (eq == std::string::npos) throw std::runtime_error("test PKI: no fingerprint: " + line);
  std::string fp = line.substr(eq + 1);
  while (!fp.empty() && (fp.back() == '\n' || fp.back() == '\r'))
    fp.pop_back();
  return fp;
}

const TestPki& testPki() {
  static Pki pki;
  return pki;
}

}  // namespace soaptest
