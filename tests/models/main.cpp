#define BOOST_TEST_MODULE crowdiff_models
#include <boost/test/unit_test.hpp>
