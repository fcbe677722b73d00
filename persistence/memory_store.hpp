#pragma once

#include <memory>

#include "persistence/kv_store.hpp"

namespace crowdiff::persistence {

/// A store in memory, with the same transaction semantics as LMDB (snapshot-free: a reader blocks commits
/// while it is open). For tests and benchmarks that must not touch the disk. Everything is lost with it.
std::unique_ptr<kv_store> make_memory_store();

}  // namespace crowdiff::persistence
