#define BOOST_TEST_MODULE store
#include <boost/test/unit_test.hpp>
#include <spdlog/spdlog.h>

// The core and the store log at info; the tests read their own assertions.
struct QuietLog {
  QuietLog() { spdlog::set_level(spdlog::level::warn); }
};
BOOST_TEST_GLOBAL_FIXTURE(QuietLog);
