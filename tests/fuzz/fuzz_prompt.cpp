// Prompts as the pipeline reads them: text of any bytes is normalised and tokenised with the standard CLIP
// vocabulary, then laid out in chunks for the text encoder.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "models/text/clip_tokenizer.hpp"
#include "models/text/prompt_chunks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crowdiff::models;
  static const auto tokenizer = clip_tokenizer::standard();
  if (!tokenizer)
    __builtin_trap();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto prompt = split_horde_prompt(text);  // "positive ### negative", as the AI Horde writes it
  for (const auto& part : {prompt.positive, prompt.negative}) {
    auto ids = tokenizer->encode(part);
    for (auto id : ids)
      if (id < 0 || static_cast<size_t>(id) >= tokenizer->vocab_size())
        __builtin_trap();
    auto chunks = chunk_tokens(ids, 49406, 49407, 49407);
    for (const auto& row : chunks.rows)
      if (row.size() != chunks.length)
        __builtin_trap();
  }
  return 0;
}
