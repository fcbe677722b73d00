#define BOOST_TEST_MODULE crowdiff_common
#include <boost/test/unit_test.hpp>
