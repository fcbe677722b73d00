#include "models/sampling/seed_sequence.hpp"

namespace crowdiff::models {
namespace {

// numpy's constants (bit_generator.pyx), after Melissa O'Neill's seed_seq_fe.
constexpr uint32_t init_a = 0x43b0d7e5u;
constexpr uint32_t mult_a = 0x931e8875u;
constexpr uint32_t init_b = 0x8b51f9ddu;
constexpr uint32_t mult_b = 0x58f38dedu;
constexpr uint32_t mix_mult_l = 0xca01f9ddu;
constexpr uint32_t mix_mult_r = 0x4973f715u;
constexpr int xshift = 16;

uint32_t hashmix(uint32_t value, uint32_t& hash_const) {
  value ^= hash_const;
  hash_const *= mult_a;
  value *= hash_const;
  value ^= value >> xshift;
  return value;
}

uint32_t mix(uint32_t x, uint32_t y) {
  uint32_t result = mix_mult_l * x - mix_mult_r * y;
  result ^= result >> xshift;
  return result;
}

// numpy's _int_to_uint32_array: little-endian 32-bit words, and [0] for 0.
void append_words(uint64_t value, std::vector<uint32_t>& out) {
  if (value == 0) {
    out.push_back(0);
    return;
  }
  while (value > 0) {
    out.push_back(static_cast<uint32_t>(value & 0xffffffffu));
    value >>= 32;
  }
}

}  // namespace

std::vector<uint32_t> seed_sequence_state(uint64_t entropy, const std::vector<uint64_t>& spawn_key,
                                          size_t pool_size, size_t n_words) {
  std::vector<uint32_t> words;
  append_words(entropy, words);
  if (!spawn_key.empty() && words.size() < pool_size)
    words.resize(pool_size, 0);  // numpy pads the run entropy so the spawn key never aliases it
  for (uint64_t key : spawn_key)
    append_words(key, words);

  std::vector<uint32_t> pool(pool_size);
  uint32_t hash_const = init_a;
  for (size_t i = 0; i < pool_size; ++i)
    pool[i] = hashmix(i < words.size() ? words[i] : 0u, hash_const);
  for (size_t src = 0; src < pool_size; ++src)
    for (size_t dst = 0; dst < pool_size; ++dst)
      if (src != dst)
        pool[dst] = mix(pool[dst], hashmix(pool[src], hash_const));
  for (size_t src = pool_size; src < words.size(); ++src)
    for (size_t dst = 0; dst < pool_size; ++dst)
      pool[dst] = mix(pool[dst], hashmix(words[src], hash_const));

  std::vector<uint32_t> state(n_words);
  uint32_t out_const = init_b;
  for (size_t i = 0; i < n_words; ++i) {
    uint32_t value = pool[i % pool_size];
    value ^= out_const;
    out_const *= mult_b;
    value *= out_const;
    value ^= value >> xshift;
    state[i] = value;
  }
  return state;
}

}  // namespace crowdiff::models
