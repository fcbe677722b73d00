#pragma once

// What every listener of ours (the HTTP server, the node port guard, the TLS tunnel) does with Asio alike:
// run its io_context on a thread that survives a handler that throws, and tell "out of descriptors" (wait, do
// not spin) from other accept errors. Header-only; Boost.Asio comes with the listeners.

#include <cerrno>
#include <exception>
#include <string>
#include <thread>

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

#include "common/log.hpp"

namespace crowdiff {

/// A thread that runs `io` until it is stopped or runs out of work; an exception out of a handler is logged
/// (`<what>_exception`) and the thread goes on serving.
inline std::thread io_service_thread(boost::asio::io_context& io, std::string what) {
  return std::thread([&io, event = std::move(what) + "_exception"] {
    for (;;) {
      try {
        io.run();
        return;
      } catch (const std::exception& e) {
        log::error(event).kv("error", e.what());
      } catch (...) {
        log::error(event).kv("error", "unknown");
      }
    }
  });
}

/// True when an accept failed for want of descriptors or memory: retrying at once would spin, as the pending
/// connection stays in the backlog until something is freed.
inline bool out_of_descriptors(const boost::system::error_code& ec) {
  namespace error = boost::asio::error;
  return ec == error::no_descriptors || ec == error::no_buffer_space || ec == error::no_memory ||
         ec == boost::system::error_code(ENFILE, boost::system::system_category());
}

}  // namespace crowdiff
