#define BOOST_TEST_MODULE notifier
#include <boost/test/unit_test.hpp>
#include <spdlog/spdlog.h>

// The core logs every event at info; the tests read their own assertions.
struct QuietLog {
  QuietLog() { spdlog::set_level(spdlog::level::warn); }
};
BOOST_TEST_GLOBAL_FIXTURE(QuietLog);
