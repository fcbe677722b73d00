#include "common/api_key.hpp"

#include <sodium.h>

namespace crowdiff {

std::string generate_api_key() {
  static const bool initialized = sodium_init() >= 0;
  (void)initialized;
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string key(22, '\0');
  for (auto& c : key)
    c = alphabet[randombytes_uniform(64)];
  return key;
}

std::string hash_api_key(std::string_view key) {
  std::string out(crypto_generichash_BYTES, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     reinterpret_cast<const unsigned char*>(key.data()), key.size(), nullptr, 0);
  return out;
}

bool plausible_api_key(std::string_view key) {
  if (key.empty() || key.size() > 128)
    return false;
  for (char c : key)
    if (c < 0x21 || c > 0x7e)
      return false;
  return true;
}

}  // namespace crowdiff
