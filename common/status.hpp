#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace crowdiff {

/// The error codes of crowdiff, shared by every layer. They cross actor and process boundaries as the code of
/// a `caf::error` (category `crowdiff`) and are written into the store as job failure reasons: never
/// renumber.
enum class errc : uint8_t {
  ok = 0,
  invalid_argument = 1,     ///< The caller sent something malformed or out of range.
  not_found = 2,            ///< The named job, user, worker or record does not exist.
  already_exists = 3,       ///< A unique name or id is taken.
  unauthenticated = 4,      ///< Missing or wrong API key.
  permission_denied = 5,    ///< Authenticated, but not allowed to do this.
  insufficient_kudos = 6,   ///< The balance cannot cover the operation.
  failed_precondition = 7,  ///< The target is in a state that forbids the operation.
  resource_exhausted = 8,   ///< A limit was hit (queue full, rate limit, map size).
  unavailable = 9,          ///< A dependency is down or no worker can serve the request.
  cancelled = 10,           ///< The operation was cancelled.
  deadline_exceeded = 11,   ///< It took too long.
  io_error = 12,            ///< The operating system refused a read or write.
  corruption = 13,          ///< Stored bytes or a file do not decode.
  store_locked = 14,        ///< Another process holds the store.
  generation_failed = 15,   ///< A worker's generator reported a fault.
  internal = 16,            ///< A bug in crowdiff: an invariant does not hold.
  unsupported = 17,         ///< Understood, but this build or node cannot do it.
};

/// Human-readable name of an error code, e.g. "invalid_argument".
std::string_view to_string(errc code);
std::ostream& operator<<(std::ostream& out, errc code);

/// Outcome of a fallible operation: ok, or an error code with a message for people.
class [[nodiscard]] status {
 public:
  status() = default;
  status(errc code, std::string message) : code_(code), message_(std::move(message)) {}

  static status ok() { return {}; }

  bool is_ok() const { return code_ == errc::ok; }
  explicit operator bool() const { return is_ok(); }
  errc code() const { return code_; }
  const std::string& message() const { return message_; }

  /// "code: message", or "ok".
  std::string to_string() const;

  /// Prepends context to the message ("opening store: ...") and returns *this.
  status& with_context(std::string_view context);

  friend bool operator==(const status& a, const status& b) { return a.code_ == b.code_; }

 private:
  errc code_ = errc::ok;
  std::string message_;
};

/// A value or an error status (an `expected` for C++20).
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : data_(std::move(value)) {}       // NOLINT(google-explicit-constructor)
  result(status error) : data_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  result(errc code, std::string message) : data_(status{code, std::move(message)}) {}

  bool has_value() const { return data_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<0>(data_); }
  const T& value() const& { return std::get<0>(data_); }
  T&& value() && { return std::get<0>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::get<0>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  /// The error; only valid when `!has_value()`.
  const status& error() const { return std::get<1>(data_); }
  /// ok() when a value is held, else the error.
  status to_status() const { return has_value() ? status::ok() : error(); }

 private:
  std::variant<T, status> data_;
};

}  // namespace crowdiff

/// Returns the status of `expr` from the current function when it is an error.
#define CROWDIFF_RETURN_IF_ERROR(expr)             \
  do {                                             \
    if (auto crowdiff_st_ = (expr); !crowdiff_st_) \
      return crowdiff_st_;                         \
  } while (false)
