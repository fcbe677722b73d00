#pragma once

#include <filesystem>
#include <vector>

#include "actors/node/worker_node.hpp"
#include "actors/worker/pipeline_generator.hpp"
#include "apps/crowdiff/command_line.hpp"
#include "crowdiff/v1/config.pb.h"
#include "persistence/store.hpp"

namespace crowdiff::app {

/// The models named on the command line: `--model PATH` (a diffusers folder or a .safetensors file), or a
/// comma-separated list of them, each optionally `NAME=PATH`. A model without a name is called by
/// `--model-name NAME` (the first one only) or else by its file or folder name without the extension.
/// `--v-prediction` marks them as predicting v (SD 2.x 768-v single files without a YAML beside them).
/// Empty when no --model is given. Errors: invalid_argument for an empty entry or name.
result<std::vector<model_source>> model_sources(const command_line& cli);

/// Where model digests are remembered between runs: $XDG_CACHE_HOME/crowdiff/model-hashes.json, else
/// ~/.cache/crowdiff/model-hashes.json (created as needed); empty when neither is available.
std::filesystem::path default_hash_cache();

/// The generators this machine runs, each offering every --model (none when no model is given): one per
/// GPU the CUDA backend supports (sm_80 or later; older ones are skipped with a log line), or, without one
/// or with `--cpu`, one CPU generator, with one log line saying why. A generator joins as
/// config.worker.name, else the host name; with several GPUs as NAME-gpu<ordinal>. `--threads N` bounds the
/// CPU generator's threads. Errors: those of model_sources and pipeline_generator::create (a missing,
/// unreadable or unsupported model, named; a GPU that fails to start, named).
result<std::vector<named_generator>> local_generators(const command_line& cli, const v1::NodeConfig& config);

/// The user a worker inside the core's process runs for: the admin (the node's operator).
uint64_t local_owner(persistence::store& store);

}  // namespace crowdiff::app
