// beckon-ua: the reference user agent (docs/beckon-ua.md). A device on the
// command line: it registers with beckond (or subscribes) for contact-me,
// answers the NOTIFYs and calls the application server back over HTTP(S);
// it places, answers, rejects and ends calls. One line per event on stdout.
//
//   beckon-ua --aor sip:7546658000@example.com --registrar 127.0.0.1:5060
//             --register --trust crm.example.com --exit-after callback --timeout 30
//
// Exit status: 0 done (--exit-after met, signal, or --timeout without
// --exit-after), 1 failed (registration, subscription, SIP stack), 2 usage,
// 3 --timeout before --exit-after was met.
#include <CLI/CLI.hpp>
#include <curl/curl.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "agent.h"
#include "callback_plan.h"

namespace {

using beckon::BodyFormat;
using namespace beckon::ua;

const std::set<std::string> kExitKinds = {"started",
                                          "registered",
                                          "subscribed",
                                          "notify",
                                          "callback",
                                          "call-incoming",
                                          "call-ringing",
                                          "call-established",
                                          "call-ended",
                                          "unregistered",
                                          "unsubscribed",
                                          "subscription-terminated",
                                          "call-reconstructing",
                                          "call-reconstructed",
                                          "call-info"};

std::string randomUuid() {
  std::random_device rd;
  std::mt19937_64 rng((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
  unsigned char b[16];
  for (auto& x : b)
    x = static_cast<unsigned char>(rng());
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char text[37];
  std::snprintf(text, sizeof text,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return std::string("urn:uuid:") + text;
}

bool isUri(const std::string& s) {
  return s.rfind("sip:", 0) == 0 || s.rfind("sips:", 0) == 0;
}

// HOST:PORT and a transport -> a SIP URI; a URI is kept (with the transport
// added when it names none).
std::string sipUri(const std::string& target, const std::string& transport) {
  if (isUri(target)) {
    if (transport.empty() || target.find("transport=") != std::string::npos) return target;
    if (transport == "tls")
      return target.rfind("sips:", 0) == 0 ? target : "sips:" + target.substr(4);
    return target + ";transport=" + transport;
  }
  if (transport == "tls") return "sips:" + target;
  return "sip:" + target + (transport.empty() ? "" : ";transport=" + transport);
}

void usage(const std::string& why) {
  std::cerr << "beckon-ua: " << why << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"beckon-ua: the reference user agent of beckon (a device on the command line)"};
  app.set_version_flag("--version", "beckon-ua " BECKON_VERSION);

  AgentOptions o;
  std::string transport;
  std::vector<std::string> accept{"text", "xml"};
  std::vector<std::string> exitAfter;
  long answerMs = -1;
  double hangupAfter = -1;
  double reinviteAfter = -1;
  double infoAfter = -1;
  double httpTimeout = 10;

  app.add_option("--aor", o.aor,
                 "address of record, sip:USER@DOMAIN (default sip:beckon-ua@HOST of --listen)");
  app.add_option("--instance", o.instance, "+sip.instance URN (default: a random urn:uuid)");
  app.add_option("--display-name", o.displayName, "display name in From");
  o.listen = "127.0.0.1:5062";
  app.add_option("--listen", o.listen, "HOST:PORT to listen on for UDP and TCP")
      ->capture_default_str();
  app.add_option("--tls-listen", o.tlsListen, "HOST:PORT to listen on for TLS (needed for TLS)");
  app.add_option("--ca-file", o.caFile,
                 "CAs (PEM) to verify SIP TLS peers and https servers with (SIP TLS peers are"
                 " not verified without it)")
      ->check(CLI::ExistingFile);
  app.add_option("--cert", o.certFile, "certificate (PEM) for SIP TLS and https client auth")
      ->check(CLI::ExistingFile);
  app.add_option("--key", o.keyFile, "private key (PEM) of --cert (default: in --cert)")
      ->check(CLI::ExistingFile);

  app.add_option("--registrar", o.registrar, "beckond: a sip:/sips: URI or HOST:PORT");
  app.add_option("--transport", transport, "transport to the registrar and proxy")
      ->check(CLI::IsMember({"udp", "tcp", "tls"}));
  app.add_flag("--register", o.doRegister, "register (Accept: the contact-me body types)");
  app.add_flag("--subscribe", o.doSubscribe, "subscribe explicitly (SUBSCRIBE, Event: package)");
  app.add_option("--expires", o.expires, "registration/subscription expiry in seconds")
      ->capture_default_str()
      ->check(CLI::Range(1u, 86400u * 7));
  app.add_option("--package", o.package, "event package")->capture_default_str();
  app.add_option("--accept", accept, "body formats in order of preference: text, xml")
      ->delimiter(',')
      ->check(CLI::IsMember({"text", "xml"}))
      ->capture_default_str();
  app.add_option("--auth-user", o.authUser, "digest user name for REGISTER/SUBSCRIBE/INVITE");
  app.add_option("--password", o.password, "digest password");
  app.add_flag("--any-source", o.anySource,
               "take contact-me NOTIFYs from any address, not only from the registrar");

  app.add_option("--trust", o.trust,
                 "HOST[:PORT] of an application server to call back (repeatable; * for any;"
                 " *.suffix; no PORT: any port)");
  app.add_option("--default-server", o.defaults.server,
                 "HOST[:PORT] to call back when a NOTIFY names no server");
  app.add_option("--default-protocol", o.defaults.protocol,
                 "protocol when a NOTIFY names none: http or https")
      ->check(CLI::IsMember({"http", "https"}))
      ->capture_default_str();
  app.add_option("--http-timeout", httpTimeout, "seconds one callback request may take")
      ->check(CLI::Range(0.1, 300.0))
      ->capture_default_str();

  app.add_option("--proxy", o.proxy,
                 "outbound proxy for calls: a URI or HOST:PORT (default: direct)");
  app.add_option("--call", o.call, "call this URI (after registering, with --register)");
  auto* answer = app.add_option("--answer", answerMs, "answer incoming calls after MS milliseconds")
                     ->check(CLI::Range(0L, 3600000L));
  app.add_option("--reject", o.rejectCode, "reject incoming calls with this status (e.g. 486)")
      ->check(CLI::Range(300, 699))
      ->excludes(answer);
  app.add_option("--reinvite-after", reinviteAfter,
                 "send a re-INVITE SECONDS after a call is established")
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("--info-after", infoAfter, "send an INFO SECONDS after a call is established")
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("--hangup-after", hangupAfter, "end established calls after SECONDS")
      ->check(CLI::Range(0.0, 86400.0));

  app.add_option("--exit-after", exitAfter,
                 "KIND[:N]: exit once N (default 1) events of KIND were reported; repeatable,"
                 " all must be met (registered, subscribed, notify, callback, call-established,"
                 " call-ended, ...)");
  app.add_option("--timeout", o.timeoutS, "end the run after SECONDS (0: never)")
      ->check(CLI::Range(0.0, 86400.0 * 365))
      ->capture_default_str();
  app.add_flag("--json", o.json, "one JSON object per event");
  app.add_flag("--trace-sip", o.traceSip, "print Sofia-SIP's log and SIP messages on stderr");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }

  if (answerMs >= 0) o.answerAfterMs = answerMs;
  if (hangupAfter >= 0) o.hangupAfterS = hangupAfter;
  if (reinviteAfter >= 0) o.reinviteAfterS = reinviteAfter;
  if (infoAfter >= 0) o.infoAfterS = infoAfter;
  o.httpTimeoutMs = static_cast<long>(httpTimeout * 1000);
  o.accept.clear();
  for (const auto& a : accept)
    o.accept.push_back(a == "xml" ? BodyFormat::Xml : BodyFormat::Text);
  if (o.instance.empty()) o.instance = randomUuid();
  if (o.instance.size() > 2 && o.instance.front() == '<' && o.instance.back() == '>')
    o.instance = o.instance.substr(1, o.instance.size() - 2);
  if (o.aor.empty()) {
    const auto colon = o.listen.rfind(':');
    o.aor = "sip:beckon-ua@" + o.listen.substr(0, colon);
  }
  if (!isUri(o.aor)) return usage("--aor must be a sip: or sips: URI"), kExitUsage;
  if (!o.registrar.empty()) o.registrar = sipUri(o.registrar, transport);
  if (!o.proxy.empty()) o.proxy = sipUri(o.proxy, transport);
  if (!o.call.empty() && !isUri(o.call)) return usage("--call must be a sip: URI"), kExitUsage;
  if ((o.doRegister || o.doSubscribe) && o.registrar.empty())
    return usage("--register and --subscribe need --registrar"), kExitUsage;
  const bool tls = o.registrar.rfind("sips:", 0) == 0 ||
                   o.registrar.find("transport=tls") != std::string::npos ||
                   o.proxy.rfind("sips:", 0) == 0 || o.call.rfind("sips:", 0) == 0;
  if (tls && o.tlsListen.empty()) return usage("SIP over TLS needs --tls-listen"), kExitUsage;
  if (!o.keyFile.empty() && o.certFile.empty()) return usage("--key needs --cert"), kExitUsage;
  if (!o.defaults.server.empty() && !parseHostPort(o.defaults.server))
    return usage("--default-server: not HOST[:PORT]: " + o.defaults.server), kExitUsage;
  for (const auto& spec : exitAfter) {
    ExitCondition c;
    const auto colon = spec.find(':');
    c.kind = spec.substr(0, colon);
    if (!kExitKinds.count(c.kind))
      return usage("--exit-after: unknown event " + c.kind), kExitUsage;
    if (colon != std::string::npos) {
      try {
        c.count = static_cast<unsigned>(std::stoul(spec.substr(colon + 1)));
      } catch (const std::exception&) {
        return usage("--exit-after: not KIND[:N]: " + spec), kExitUsage;
      }
    }
    o.exitAfter.push_back(c);
  }

  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc;
  try {
    Agent agent(o);
    rc = agent.run();
  } catch (const std::invalid_argument& e) {  // a malformed --trust
    usage(e.what());
    rc = kExitUsage;
  }
  curl_global_cleanup();
  return rc;
}
