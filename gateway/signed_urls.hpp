#pragma once

#include <cstdint>
#include <string>

namespace crowdiff::gateway {

/// Image and upload links that expire: the path, an expiry time and an HMAC over both (libsodium crypto_auth)
/// with a key made when the gateway starts. Knowing a job id is not enough to fetch its images forever.
class signed_urls {
 public:
  signed_urls();

  /// `<path>?expires=<unix s>&sig=<hex>`.
  std::string sign(const std::string& path, int64_t expires_s) const;
  /// True when `sig` matches `path` and `expires_s`, and that time is not past `now_s`.
  bool check(const std::string& path, const std::string& expires, const std::string& sig,
             int64_t now_s) const;

 private:
  std::string mac(const std::string& path, int64_t expires_s) const;
  std::string key_;
};

}  // namespace crowdiff::gateway
