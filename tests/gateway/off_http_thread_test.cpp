// Work handed from the HTTP thread to CAF threads (gateway_context.hpp, off_http_thread) is bounded in bytes
// like the bodies being read: past the cap it is refused, nothing runs, and the count is unchanged; what runs
// gives its bytes back.

#include <atomic>
#include <memory>

#include <boost/test/unit_test.hpp>
#include <caf/all.hpp>

#include "gateway/gateway_context.hpp"
#include "protocol/actor_system_setup.hpp"

namespace crowdiff::gateway {

BOOST_AUTO_TEST_SUITE(off_http_thread_suite)

BOOST_AUTO_TEST_CASE(offloaded_work_is_capped_in_bytes_and_gives_them_back) {
  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  cfg.set("logger.console", caf::atom("none"));
  caf::actor_system system{cfg};
  auto ctx = std::make_shared<gateway_context>(10, 20, 40);
  ctx->system = &system;
  ctx->config.set_max_body_bytes_in_flight(1000);
  std::atomic<int> ran{0};
  ctx->offloaded_bytes = 900;  // as if other submissions were being parsed
  BOOST_TEST(!off_http_thread(*ctx, 200, [&](gateway_context&) { ++ran; }));
  BOOST_TEST(ctx->offloaded_bytes.load() == 900u);
  BOOST_TEST(off_http_thread(*ctx, 100, [&](gateway_context&) { ++ran; }));
  system.await_all_actors_done();  // it ran on a CAF thread, in an actor that ends with it
  BOOST_TEST(ran.load() == 1);
  BOOST_TEST(ctx->offloaded_bytes.load() == 900u);
  // A closed gateway runs nothing, and still gives the bytes back.
  ctx->open = false;
  BOOST_TEST(off_http_thread(*ctx, 100, [&](gateway_context&) { ++ran; }));
  system.await_all_actors_done();
  BOOST_TEST(ran.load() == 1);
  BOOST_TEST(ctx->offloaded_bytes.load() == 900u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff::gateway
