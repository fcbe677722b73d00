#define BOOST_TEST_MODULE crowdiff_transport
#include <boost/test/unit_test.hpp>
