#define BOOST_TEST_MODULE crowdiff_kernels_cuda
#include <boost/test/unit_test.hpp>
