#pragma once

// The CUDA backend the model tests run on, and the precondition that skips every one of them, loudly, where
// there is no GPU.

#include <boost/test/unit_test.hpp>

#include "kernels/backend.hpp"

namespace crowdiff::models::testing {

/// The CUDA backend with f16 activations on device 0 (what a GPU worker runs), made once; nullptr when there
/// is no usable GPU.
kernels::backend* cuda_f16();

/// Boost.Test precondition: true with a GPU, else false with the reason (the test is reported skipped).
boost::test_tools::assertion_result gpu_available(boost::unit_test::test_unit_id);

}  // namespace crowdiff::models::testing
