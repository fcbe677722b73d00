#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace crowdiff::models {

/// A Horde prompt split at its first "###": the text before is the prompt, the text after the negative
/// prompt (empty when there is no "###"). Later "###" belong to the negative prompt.
struct horde_prompt {
  std::string positive;
  std::string negative;
};
horde_prompt split_horde_prompt(std::string_view prompt);

/// Token ids laid out for the text encoder: one row of `length` ids per chunk.
struct token_chunks {
  size_t length = 77;
  std::vector<std::vector<int32_t>> rows;
};

/// Splits a prompt's tokens (without start/end tokens) into chunks of `length - 2`, each one framed as
/// [bos, tokens..., eos, pad...] to `length` ids, as ComfyUI and A1111 do for prompts over 75 tokens; each
/// row is encoded separately and the embeddings are concatenated along the sequence. An empty prompt gives
/// one chunk. `pad` is eos for SD1 and 0 for SD2 (model_config::text.pad_token). `length` must be >= 3.
token_chunks chunk_tokens(const std::vector<int32_t>& tokens, int32_t bos, int32_t eos, int32_t pad,
                          size_t length = 77);

/// Appends empty chunks ([bos, eos, pad...]) to the shorter of two chunk lists so that a prompt and its
/// negative can be batched for classifier-free guidance (A1111's rule; the empty chunk encodes "").
void equalize_chunk_counts(token_chunks& a, token_chunks& b, int32_t bos, int32_t eos, int32_t pad);

}  // namespace crowdiff::models
