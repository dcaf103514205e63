#include <boost/test/unit_test.hpp>

#include "config.h"
#include "refusal.h"

using namespace beckon::app;

using beckon::app::test::refusal;
using beckon::app::test::starts;

BOOST_AUTO_TEST_SUITE(limits_config)

BOOST_AUTO_TEST_CASE(defaults_reach_every_part) {
  const Config c = parseConfig("");
  BOOST_TEST(c.limits.sipMaxMessageBytes == 65535u);
  BOOST_TEST(c.limits.bindingsPerAor == 10u);
  BOOST_TEST(c.limits.aorRate == 1.0);
  BOOST_TEST(c.sip.limits.sipConnectionsPerSource == c.limits.sipConnectionsPerSource);
  BOOST_TEST(c.soap.limits.soapRequestTimeout.count() == 10000);
  BOOST_TEST(c.soap.limits.soapHeaderTimeout.count() == 5000);
  BOOST_TEST(c.core.limits.queuedRequests == 100000u);
}

BOOST_AUTO_TEST_CASE(every_key_is_read) {
  const Config c = parseConfig(R"(
[limits]
sip_max_message_bytes = 4096
sip_max_headers = 40
sip_max_contacts = 3
bindings_per_aor = 4
subscriptions_per_device = 2
aor_rate = 0.5
aor_burst = 7
aor_tracked = 1000
sip_connections = 20
sip_connections_per_source = 8
sip_first_message_ms = 1500
sip_message_timeout_ms = 1000
sip_idle_ms = 3000
soap_connections = 30
soap_connections_per_source = 6
soap_request_timeout_ms = 2000
soap_header_timeout_ms = 700
queued_requests = 5
queued_requests_per_app_server = 3
)");
  for (const beckon::Limits* l : {&c.limits, &c.sip.limits, &c.soap.limits, &c.core.limits}) {
    BOOST_TEST(l->sipMaxMessageBytes == 4096u);
    BOOST_TEST(l->sipMaxHeaders == 40u);
    BOOST_TEST(l->sipMaxContacts == 3u);
    BOOST_TEST(l->bindingsPerAor == 4u);
    BOOST_TEST(l->subscriptionsPerDevice == 2u);
    BOOST_TEST(l->aorRate == 0.5);
    BOOST_TEST(l->aorBurst == 7u);
    BOOST_TEST(l->aorTracked == 1000u);
    BOOST_TEST(l->sipConnections == 20u);
    BOOST_TEST(l->sipConnectionsPerSource == 8u);
    BOOST_TEST(l->sipFirstMessage.count() == 1500);
    BOOST_TEST(l->sipMessageTimeout.count() == 1000);
    BOOST_TEST(l->sipIdle.count() == 3000);
    BOOST_TEST(l->soapConnections == 30u);
    BOOST_TEST(l->soapConnectionsPerSource == 6u);
    BOOST_TEST(l->soapRequestTimeout.count() == 2000);
    BOOST_TEST(l->soapHeaderTimeout.count() == 700);
    BOOST_TEST(l->queuedRequests == 5u);
    BOOST_TEST(l->queuedRequestsPerAppServer == 3u);
  }
  BOOST_TEST(parseConfig("[limits]\naor_rate = 3").limits.aorRate == 3.0);  // an integer too
}

BOOST_AUTO_TEST_CASE(mistakes_name_the_key) {
  BOOST_TEST(starts(refusal("[limits]\nsip_max_mesage_bytes = 1"),
                    "limits.sip_max_mesage_bytes: unknown key"));
  BOOST_TEST(starts(refusal("[limits]\nsip_max_message_bytes = 10"),
                    "limits.sip_max_message_bytes: must be between"));
  BOOST_TEST(starts(refusal("[limits]\nbindings_per_aor = 0"), "limits.bindings_per_aor: "));
  BOOST_TEST(starts(refusal("[limits]\naor_rate = -1"), "limits.aor_rate: "));
  BOOST_TEST(starts(refusal("[limits]\naor_rate = \"fast\""), "limits.aor_rate: "));
  BOOST_TEST(starts(refusal("[limits]\nsip_idle_ms = 10"), "limits.sip_idle_ms: "));
  BOOST_TEST(starts(refusal("[limits]\nsoap_header_timeout_ms = 0"),
                    "limits.soap_header_timeout_ms: must be between"));
  BOOST_TEST(starts(refusal("[limits]\nqueued_requests = 1.5"),
                    "limits.queued_requests: must be an integer"));
  BOOST_TEST(starts(refusal("limits = 3"), "limits: must be a table"));
}

BOOST_AUTO_TEST_SUITE_END()
