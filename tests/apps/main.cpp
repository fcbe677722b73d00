#define BOOST_TEST_MODULE crowdiff_apps
#include <boost/test/unit_test.hpp>
