#define BOOST_TEST_MODULE crowdiff_persistence
#include <boost/test/unit_test.hpp>
