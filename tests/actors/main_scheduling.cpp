#define BOOST_TEST_MODULE crowdiff_scheduling
#include <boost/test/unit_test.hpp>
