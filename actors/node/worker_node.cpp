#include "actors/node/worker_node.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/node/remote_uplink.hpp"
#include "actors/worker/worker_actor.hpp"
#include "actors/worker/worker_state.hpp"
#include "common/log.hpp"
#include "network/network_setup.hpp"
#include "protocol/actor_system_setup.hpp"
#include "protocol/errors.hpp"

namespace crowdiff {

result<std::unique_ptr<worker_node>> worker_node::start(const v1::NodeConfig& config,
                                                        const std::string& api_key,
                                                        std::vector<named_generator> generators) {
  auto where = parse_host_port(config.worker().core());
  if (!where)
    return where.error();
  if (generators.empty())
    return status{errc::invalid_argument, "a worker node needs at least one generator"};
  std::unique_ptr<worker_node> node{new worker_node()};
  node->actor_config_ = std::make_unique<caf::actor_system_config>();
  configure_actor_system(*node->actor_config_);
  configure_network(*node->actor_config_, config.network());
  node->actor_config_->set("logger.console", caf::atom("none"));
  node->system_ = std::make_unique<caf::actor_system>(*node->actor_config_);

  auto route = route_to_core(where->first, where->second, config.network());
  if (!route)
    return route.error();
  node->route_ = std::move(*route);
  remote_uplink_options up;
  up.connector = connector_for(*node->system_, config.network());
  up.host = node->route_.host;
  up.port = node->route_.port;
  up.api_key = api_key;
  up.max_backoff = std::chrono::milliseconds(config.worker().reconnect_max_ms());
  node->uplink_ = spawn_remote_uplink(*node->system_, std::move(up));

  for (auto& g : generators) {
    auto speed = g.gen->benchmark();
    if (!speed)
      return status{speed.error().code(), "benchmarking " + g.name + ": " + speed.error().message()};
    log::info("worker_benchmark").kv("name", g.name).kv("mps_per_s", *speed).kv("device", g.gen->device());
    worker_options o;
    o.uplink = node->uplink_;
    o.gen = g.gen;
    o.name = g.name;
    o.nsfw = config.worker().nsfw();
    o.mps_per_s = *speed;
    node->workers_.push_back(node->system_->spawn(worker_fn, std::move(o)));
  }
  return node;
}

status worker_node::wait() {
  caf::scoped_actor self{*system_};
  for (const auto& w : workers_)
    self->monitor(w);
  status first;
  for (size_t down = 0; down < workers_.size(); ++down) {
    self->receive([&](caf::down_msg& msg) {
      if (first.is_ok() && msg.reason && msg.reason != caf::exit_reason::user_shutdown &&
          msg.reason != caf::exit_reason::normal)
        first = to_status(msg.reason);
    });
  }
  return first;
}

void worker_node::stop() {
  for (const auto& w : workers_)
    caf::anon_send(w, drain_atom::value);
}

worker_node::~worker_node() {
  if (!system_)
    return;
  for (const auto& w : workers_)
    caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(uplink_, caf::exit_reason::user_shutdown);
  system_->await_all_actors_done();
  system_.reset();
}

}  // namespace crowdiff
