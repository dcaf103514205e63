// [store] backend / redis_url and [cluster]: read, or refused naming the key.
#include <boost/test/unit_test.hpp>

#include "config.h"
#include "refusal.h"

using namespace beckon::app;

using beckon::app::test::refusal;
using beckon::app::test::starts;

BOOST_AUTO_TEST_SUITE(cluster_config)

BOOST_AUTO_TEST_CASE(sqlite_is_the_default_and_redis_is_chosen_by_backend) {
  const Config plain = parseConfig("");
  BOOST_TEST(plain.storeBackend == "sqlite");
  BOOST_TEST(!plain.redis.node.empty());  // the host name
  const Config c = parseConfig(R"(
[store]
backend = "redis"
redis_url = "redis://:pw@127.0.0.1:6390/3"
[cluster]
node = "node-a"
advertise = "sip:127.0.0.1:5070"
)");
  BOOST_TEST(c.storeBackend == "redis");
  BOOST_TEST(c.redis.url == "redis://:pw@127.0.0.1:6390/3");
  BOOST_TEST(c.redis.node == "node-a");
  BOOST_TEST(c.redis.advertise == "sip:127.0.0.1:5070");
}

BOOST_AUTO_TEST_CASE(a_bad_cluster_setting_names_its_key) {
  BOOST_TEST(starts(refusal("[store]\nbackend = \"mysql\""), "store.backend: "));
  BOOST_TEST(starts(refusal("[store]\nredis_url = \"http://h\""), "store.redis_url: "));
  BOOST_TEST(starts(refusal("[store]\nredis_url = \"redis://h:0\""), "store.redis_url: "));
  BOOST_TEST(starts(refusal("[store]\nredis_url = \"rediss://h:6379\""), "store.redis_url: "));
  BOOST_TEST(starts(refusal("[cluster]\nnode = \"\""), "cluster.node: "));
  BOOST_TEST(starts(refusal("[cluster]\nnode = \"a:b\""), "cluster.node: "));
  BOOST_TEST(starts(refusal("[cluster]\nadvertise = \"http://h\""), "cluster.advertise: "));
  BOOST_TEST(starts(refusal("[cluster]\nadvertise = \"sip:\""), "cluster.advertise: "));
  BOOST_TEST(starts(refusal("[cluster]\nnodes = 1"), "cluster.nodes: unknown key"));
}

BOOST_AUTO_TEST_CASE(the_cluster_settings_take_effect_at_a_restart) {
  const Config a = parseConfig("[store]\nbackend = \"redis\"\n[cluster]\nnode = \"a\"\n");
  const Config b = parseConfig("[store]\nbackend = \"sqlite\"\n[cluster]\nnode = \"b\"\n");
  const auto keys = keysNeedingRestart(a, b);
  BOOST_TEST((std::find(keys.begin(), keys.end(), "store.backend") != keys.end()));
  BOOST_TEST((std::find(keys.begin(), keys.end(), "cluster") != keys.end()));
}

BOOST_AUTO_TEST_SUITE_END()
