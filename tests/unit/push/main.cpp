#define BOOST_TEST_MODULE beckon_push
#include <boost/test/unit_test.hpp>
