#pragma once

namespace crowdiff::models {

/// Makes the C heap hand large freed blocks back to the system at once (glibc: a fixed mmap threshold of
/// 1 MiB). The backend's arena keeps activation blocks for reuse and returns them when the pipeline trims it
/// between phases (UNet steps, VAE decode, the next job); with glibc's default, adaptive threshold (up to
/// 32 MiB) blocks of the UNet's size would stay in the heap instead, about 300 MB at 512x512. Process-wide:
/// programs that run the pipeline call it once at start. Does nothing on other C libraries.
void return_large_blocks_to_the_system();

}  // namespace crowdiff::models
