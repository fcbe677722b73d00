#pragma once

#include <string>

namespace crowdiff::bench {

/// One measured generation, in this process: what the `--run-ours` child does.
struct pipeline_run_options {
  std::string model;
  int steps = 20;
  int size = 512;
  int threads = 0;
  std::string precision = "auto";  ///< auto, bf16 or f32
  std::string output;              ///< where to write the image; empty: nowhere
};

/// Loads the model, generates one image (k_euler, guidance 7.5: a batch of two per step) and prints one JSON
/// line to stdout: load_s, first_step_s (the text encoder and the first step, which also builds oneDNN's
/// primitives), s_per_step (the median of the later steps), decode_s, end_to_end_s (prompt to encoded image,
/// after loading), weights_mb. Returns the process exit code.
int run_pipeline(const pipeline_run_options& options);

}  // namespace crowdiff::bench
