#include "models/text/prompt_chunks.hpp"

#include <algorithm>

namespace crowdiff::models {
namespace {

std::vector<int32_t> frame(const int32_t* begin, const int32_t* end, int32_t bos, int32_t eos, int32_t pad,
                           size_t length) {
  std::vector<int32_t> row;
  row.reserve(length);
  row.push_back(bos);
  row.insert(row.end(), begin, end);
  row.push_back(eos);
  row.resize(length, pad);
  return row;
}

}  // namespace

horde_prompt split_horde_prompt(std::string_view prompt) {
  const size_t at = prompt.find("###");
  if (at == std::string_view::npos)
    return {std::string(prompt), std::string()};
  return {std::string(prompt.substr(0, at)), std::string(prompt.substr(at + 3))};
}

token_chunks chunk_tokens(const std::vector<int32_t>& tokens, int32_t bos, int32_t eos, int32_t pad,
                          size_t length) {
  token_chunks chunks;
  chunks.length = std::max<size_t>(length, 3);
  const size_t per_chunk = chunks.length - 2;
  size_t start = 0;
  do {
    const size_t end = std::min(tokens.size(), start + per_chunk);
    chunks.rows.push_back(frame(tokens.data() + start, tokens.data() + end, bos, eos, pad, chunks.length));
    start = end;
  } while (start < tokens.size());
  return chunks;
}

void equalize_chunk_counts(token_chunks& a, token_chunks& b, int32_t bos, int32_t eos, int32_t pad) {
  token_chunks& shorter = a.rows.size() < b.rows.size() ? a : b;
  const size_t target = std::max(a.rows.size(), b.rows.size());
  while (shorter.rows.size() < target)
    shorter.rows.push_back(frame(nullptr, nullptr, bos, eos, pad, shorter.length));
}

}  // namespace crowdiff::models
