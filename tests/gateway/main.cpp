#define BOOST_TEST_MODULE crowdiff_gateway
#include <boost/test/unit_test.hpp>
