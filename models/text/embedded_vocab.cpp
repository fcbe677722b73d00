#include "models/text/embedded_vocab.hpp"

#include <cstdint>

// The assembler includes the file verbatim (CMake passes its absolute path and lists it as a dependency of
// this object): 1.3 MB as a C array literal would cost the compiler far more time and memory. The size is
// computed by the assembler too, so C++ never subtracts pointers to unrelated objects.
asm(".section .rodata\n"
    ".globl crowdiff_clip_bpe_gz\n"
    ".hidden crowdiff_clip_bpe_gz\n"
    ".globl crowdiff_clip_bpe_gz_size\n"
    ".hidden crowdiff_clip_bpe_gz_size\n"
    ".balign 16\n"
    "crowdiff_clip_bpe_gz:\n"
    ".incbin \"" CROWDIFF_CLIP_BPE_PATH
    "\"\n"
    "crowdiff_clip_bpe_gz_end:\n"
    ".balign 8\n"
    "crowdiff_clip_bpe_gz_size:\n"
    ".quad crowdiff_clip_bpe_gz_end - crowdiff_clip_bpe_gz\n"
    ".previous\n");

extern "C" const char crowdiff_clip_bpe_gz[];
extern "C" const uint64_t crowdiff_clip_bpe_gz_size;

namespace crowdiff::models {

std::string_view embedded_clip_bpe_gz() {
  return std::string_view(crowdiff_clip_bpe_gz, static_cast<size_t>(crowdiff_clip_bpe_gz_size));
}

}  // namespace crowdiff::models
