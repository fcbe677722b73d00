#define BOOST_TEST_MODULE crowdiff_config
#include <boost/test/unit_test.hpp>
