#define BOOST_TEST_MODULE crowdiff_kernels
#include <boost/test/unit_test.hpp>
