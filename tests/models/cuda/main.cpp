#define BOOST_TEST_MODULE crowdiff_models_cuda
#include <boost/test/unit_test.hpp>
