#pragma once

#include <string_view>

namespace crowdiff::models {

/// The bytes of data/bpe_simple_vocab_16e6.txt.gz (OpenAI CLIP's BPE merges, MIT; see
/// data/LICENSE.bpe_simple_vocab_16e6), linked into the library so a worker needs no file at run time.
std::string_view embedded_clip_bpe_gz();

}  // namespace crowdiff::models
