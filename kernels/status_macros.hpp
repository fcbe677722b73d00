#pragma once

// Helpers for code that returns crowdiff::status or crowdiff::result<T>. Guarded so that a later copy in
// common/ takes precedence without a clash.

#include <utility>

#include "common/status.hpp"

#define CROWDIFF_STATUS_CONCAT_INNER_(a, b) a##b
#define CROWDIFF_STATUS_CONCAT_(a, b) CROWDIFF_STATUS_CONCAT_INNER_(a, b)

#ifndef CROWDIFF_ASSIGN_OR_RETURN
/// `CROWDIFF_ASSIGN_OR_RETURN(auto y, be.linear(x, w));` declares (or assigns) `y` from a `result<T>`, or
/// returns its error from the enclosing function (whose return type is status or any result<U>).
#define CROWDIFF_ASSIGN_OR_RETURN(lhs, expr) \
  CROWDIFF_ASSIGN_OR_RETURN_IMPL_(CROWDIFF_STATUS_CONCAT_(crowdiff_result_, __LINE__), lhs, expr)
#define CROWDIFF_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                    \
  if (!tmp)                                             \
    return tmp.error();                                 \
  lhs = std::move(*tmp)
#endif
