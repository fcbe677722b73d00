#define BOOST_TEST_MODULE crowdiff_cluster
#include <boost/test/unit_test.hpp>
