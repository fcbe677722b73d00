#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace crowdiff {

/// A 128-bit identifier (RFC 4122 version 4 when random). Jobs are named by one.
struct uuid {
  std::array<uint8_t, 16> bytes{};

  /// A fresh random version-4 UUID (libsodium's CSPRNG).
  static uuid random();
  /// Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (case-insensitive); nullopt for anything else.
  static std::optional<uuid> parse(std::string_view text);
  /// From 16 raw bytes; nullopt when the size is wrong.
  static std::optional<uuid> from_bytes(std::string_view raw);

  /// Lower-case canonical text form.
  std::string to_string() const;
  /// The 16 raw bytes as a string (store keys, proto `bytes` fields).
  std::string to_bytes() const {
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  bool is_nil() const;

  friend auto operator<=>(const uuid&, const uuid&) = default;
};

struct uuid_hash {
  size_t operator()(const uuid& id) const noexcept;
};

}  // namespace crowdiff
