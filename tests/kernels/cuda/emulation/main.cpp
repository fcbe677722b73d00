#define BOOST_TEST_MODULE crowdiff_kernels_cuda_emulated
#include <boost/test/unit_test.hpp>
