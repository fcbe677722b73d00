#pragma once

// The CUDA backends under test and the precondition that skips every GPU test, loudly, where there is no GPU.

#include <string>

#include <boost/test/unit_test.hpp>

#include "kernels/backend.hpp"

namespace crowdiff::kernels::cuda::test {

/// The CUDA backend with activations of dtype `t` (f16 or bf16) on device 0, made once; nullptr when there is
/// no usable GPU.
backend* gpu(dtype t);

/// Why the GPU tests do not run here (empty when they do).
const std::string& gpu_skip_reason();

/// Boost.Test precondition: true with a GPU, else false with the reason (the test is reported skipped).
boost::test_tools::assertion_result gpu_available(boost::unit_test::test_unit_id);

/// Copies a host tensor to `be` (float data becomes the activation dtype).
tensor to_device(backend& be, const tensor& host);
/// Copies a tensor of `be` to a new host f32 tensor.
tensor to_host(backend& be, const tensor& device_tensor);

}  // namespace crowdiff::kernels::cuda::test
