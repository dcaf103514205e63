#define BOOST_TEST_MODULE sip
#include <boost/test/unit_test.hpp>
