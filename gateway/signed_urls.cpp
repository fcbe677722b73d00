#include "gateway/signed_urls.hpp"

#include <charconv>

#include <sodium.h>

namespace crowdiff::gateway {

signed_urls::signed_urls() : key_(crypto_auth_KEYBYTES, '\0') {
  if (sodium_init() < 0)
    return;
  crypto_auth_keygen(reinterpret_cast<unsigned char*>(key_.data()));
}

std::string signed_urls::mac(const std::string& path, int64_t expires_s) const {
  std::string message = path + "\n" + std::to_string(expires_s);
  unsigned char tag[crypto_auth_BYTES];
  crypto_auth(tag, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
              reinterpret_cast<const unsigned char*>(key_.data()));
  char hex[crypto_auth_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, tag, sizeof tag);
  return hex;
}

std::string signed_urls::sign(const std::string& path, int64_t expires_s) const {
  return path + "?expires=" + std::to_string(expires_s) + "&sig=" + mac(path, expires_s);
}

bool signed_urls::check(const std::string& path, const std::string& expires, const std::string& sig,
                        int64_t now_s) const {
  int64_t exp = 0;
  auto [end, ec] = std::from_chars(expires.data(), expires.data() + expires.size(), exp);
  if (ec != std::errc{} || end != expires.data() + expires.size() || exp < now_s)
    return false;
  auto expected = mac(path, exp);
  return sig.size() == expected.size() && sodium_memcmp(sig.data(), expected.data(), sig.size()) == 0;
}

}  // namespace crowdiff::gateway
