#define BOOST_TEST_MODULE crowdiff_network
#include <boost/test/unit_test.hpp>
