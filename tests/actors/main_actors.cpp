#define BOOST_TEST_MODULE crowdiff_actors
#include <boost/test/unit_test.hpp>
