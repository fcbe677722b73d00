#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace crowdiff::models {

/// numpy.random.SeedSequence(entropy, spawn_key, pool_size).generate_state(n_words) (uint32), bit for bit:
/// torchsde seeds every node of its Brownian tree this way, so reproducing k_dpmpp_sde's noise needs it.
/// `entropy` and each spawn-key element are non-negative integers, split into 32-bit words as numpy does.
std::vector<uint32_t> seed_sequence_state(uint64_t entropy, const std::vector<uint64_t>& spawn_key,
                                          size_t pool_size, size_t n_words);

}  // namespace crowdiff::models
