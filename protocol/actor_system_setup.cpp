#include "protocol/actor_system_setup.hpp"

#include <caf/atom.hpp>

#include "protocol/interfaces.hpp"

namespace crowdiff {

void configure_actor_system(caf::actor_system_config& cfg) {
  // One shared queue with a condition variable instead of work stealing: CAF 0.17's stealing workers poll
  // with 50 us sleeps when idle, which on a small machine cost the core node more than a third of its
  // throughput (bench_cluster: 3,900 -> 6,400 jobs/s on 2 cores). Actors here are few and long-lived.
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.add_message_types<caf::id_block::crowdiff>();
  cfg.add_message_type<worker_actor>("crowdiff::worker_actor");
  cfg.add_message_type<worker_endpoint_actor>("crowdiff::worker_endpoint_actor");
  cfg.add_message_type<client_session_actor>("crowdiff::client_session_actor");
  cfg.add_message_type<worker_session_actor>("crowdiff::worker_session_actor");
  cfg.add_message_type<entrance_actor>("crowdiff::entrance_actor");
  cfg.add_message_type<broker_actor>("crowdiff::broker_actor");
  cfg.add_error_category(caf::atom("crowdiff"),
                         [](uint8_t code, caf::atom_value, const caf::message& context) {
                           std::string out{to_string(static_cast<errc>(code))};
                           if (context.size() == 1 && context.match_element<std::string>(0)) {
                             out += ": ";
                             out += context.get_as<std::string>(0);
                           }
                           return out;
                         });
}

}  // namespace crowdiff
