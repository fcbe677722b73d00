#pragma once

// One actor under test on CAF's test coordinator: no scheduler threads, no sleeps, no timeouts. Messages run
// only when the test calls run(), in the order they were sent; the store commits inline (on the actor's own
// thread) through a fault-injecting kv_store (tests/support/faulty_kv.hpp) over memory, and the clock is a
// number the test sets.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "faulty_kv.hpp"
#include "persistence/memory_store.hpp"
#include "persistence/store.hpp"
#include "protocol/actor_system_setup.hpp"
#include "protocol/errors.hpp"

namespace crowdiff::testing {

class deterministic_fixture {
 public:
  deterministic_fixture() {
    log::set_level(log::level::warning);
    open_store();
    configure_actor_system(config_);
    config_.set("scheduler.policy", caf::atom("testing"));
    config_.set("logger.console", caf::atom("none"));
    system_ = std::make_unique<caf::actor_system>(config_);
    self_ = std::make_unique<caf::scoped_actor>(*system_);
  }

  virtual ~deterministic_fixture() {
    // The test coordinator runs nothing by itself: actors still alive would keep the system from shutting
    // down.
    for (auto& a : spawned_)
      caf::anon_send_exit(a, caf::exit_reason::kill);
    run();
    self_.reset();
  }

  /// Spawns an actor the fixture stops at the end of the test.
  template <class... Ts>
  auto spawn(Ts&&... xs) {
    auto handle = system_->spawn(std::forward<Ts>(xs)...);
    spawned_.push_back(caf::actor_cast<caf::actor>(handle));
    run();
    return handle;
  }

  /// Lets every actor handle what is in its mailbox, until nothing is left (timeouts are not triggered).
  size_t run() { return scheduler().run(); }

  /// Sends a request, runs the system, and returns the reply (or the error it got). The reply must be one
  /// value of type T.
  template <class T, class Handle, class... Ts>
  result<T> ask(const Handle& to, Ts&&... xs) {
    auto pending = (*self_)->request(to, caf::infinite, std::forward<Ts>(xs)...);
    run();
    std::optional<result<T>> out;
    pending.receive([&](T& value) { out.emplace(std::move(value)); },
                    [&](caf::error& e) { out.emplace(to_status(e)); });
    return std::move(*out);
  }

  /// Sends a message that has no reply, and runs the system.
  template <class Handle, class... Ts>
  void tell(const Handle& to, Ts&&... xs) {
    (*self_)->send(to, std::forward<Ts>(xs)...);
    run();
  }

  /// Reopens the store on the same data, as a restart would: only what was committed is there.
  void reopen_store() {
    store.reset();
    open_store();
  }

  caf::scheduler::test_coordinator& scheduler() {
    return dynamic_cast<caf::scheduler::test_coordinator&>(system_->scheduler());
  }
  caf::actor_system& system() { return *system_; }
  /// The test's own actor, for requests whose replies are not one value (see ask).
  caf::scoped_actor& self() { return *self_; }

  int64_t now_ms = 1'800'000'000'000;
  clock_fn clock = [this] { return now_ms; };
  std::shared_ptr<persistence::kv_store> memory = persistence::make_memory_store();
  std::shared_ptr<faulty_kv> kv = std::make_shared<faulty_kv>(memory);
  std::unique_ptr<persistence::store> store;

 private:
  void open_store() {
    auto s = persistence::store::open(kv, persistence::commit_queue::mode::inline_commit);
    BOOST_REQUIRE_MESSAGE(s.has_value(), s.to_status().to_string());
    store = std::move(*s);
  }

  caf::actor_system_config config_;
  std::unique_ptr<caf::actor_system> system_;
  std::unique_ptr<caf::scoped_actor> self_;
  std::vector<caf::actor> spawned_;
};

}  // namespace crowdiff::testing
