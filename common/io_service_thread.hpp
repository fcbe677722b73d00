#pragma once

// What every listener of ours (the HTTP server, the node port guard, the TLS tunnel) does with Asio alike:
// run its io_context on a thread that survives a handler that throws, and tell "out of descriptors" (wait, do
// not spin) from other accept errors. Header-only; Boost.Asio comes with the listeners.

#include <cerrno>
#include <chrono>
#include <exception>
#include <pthread.h>
#include <string>
#include <thread>

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

#include "common/log.hpp"

namespace crowdiff {

/// A thread that runs `io` until it is stopped or runs out of work; an exception out of a handler is logged
/// (`<what>_exception`) and the thread goes on serving.
inline std::thread io_service_thread(boost::asio::io_context& io, std::string what) {
  return std::thread([&io, name = what.substr(0, 15), event = what + "_exception"] {
    pthread_setname_np(pthread_self(), name.c_str());  // for top, perf and /proc (15 characters at most)
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

/// Stops a listener whose io_context `thread` runs: `close_all` runs on that thread (close the acceptor and
/// every connection), then the thread ends; what the closes left (aborted reads and writes) is run here, so
/// every connection lets go of itself while what it updates still exists.
template <class CloseAll>
void stop_io_service(boost::asio::io_context& io, std::thread& thread, CloseAll close_all) {
  if (!thread.joinable())
    return;
  boost::asio::post(io, std::move(close_all));
  boost::asio::post(io, [&io] { io.stop(); });
  thread.join();
  io.restart();
  io.poll();
}

/// True when an accept failed for want of descriptors or memory: retrying at once would spin, as the pending
/// connection stays in the backlog until something is freed.
inline bool out_of_descriptors(const boost::system::error_code& ec) {
  namespace error = boost::asio::error;
  return ec == error::no_descriptors || ec == error::no_buffer_space || ec == error::no_memory ||
         ec == boost::system::error_code(ENFILE, boost::system::system_category());
}

/// The outcome of one accept, alike for every listener: false when the loop must not go on at once, because
/// the acceptor was closed (stopped) or descriptors ran out (then `retry` runs after 100 ms on `backoff`
/// instead of spinning, and `event` is logged). True otherwise: serve the socket if `ec` is clear, then
/// accept again.
template <class Acceptor, class Timer, class Retry>
bool keep_accepting(const boost::system::error_code& ec, Acceptor& acceptor, Timer& backoff,
                    const char* event, Retry retry) {
  if (ec == boost::asio::error::operation_aborted || !acceptor.is_open())
    return false;
  if (!out_of_descriptors(ec))
    return true;
  log::warning(event).kv("error", ec.message());
  backoff.expires_after(std::chrono::milliseconds(100));
  backoff.async_wait([&acceptor, retry = std::move(retry)](const boost::system::error_code& e) mutable {
    if (!e && acceptor.is_open())
      retry();
  });
  return false;
}

}  // namespace crowdiff
