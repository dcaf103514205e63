#define BOOST_TEST_MODULE ua
#include <boost/test/unit_test.hpp>
