#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.hpp"

namespace crowdiff::models {

/// CLIP's byte-level BPE tokenizer, token for token what HF `CLIPTokenizer` and open_clip produce for text
/// ftfy leaves alone: clip_clean_text (HTML unescape, whitespace, lower case), the split pattern
/// <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+, GPT-2's
/// byte-to-unicode map, then merges by rank with "</w>" closing each word. Immutable after construction, so
/// one instance may serve many threads.
class clip_tokenizer {
 public:
  /// The vocabulary of a diffusers `tokenizer/` folder (HF vocab.json and merges.txt). Errors: io_error,
  /// corruption (unparsable, a merge whose result is not in the vocabulary, missing special tokens),
  /// resource_exhausted (files over 16 MiB).
  static result<clip_tokenizer> from_files(const std::filesystem::path& vocab_json,
                                           const std::filesystem::path& merges_txt);

  /// OpenAI's standard CLIP vocabulary (49,408 tokens, used by SD 1.x and 2.x), built into the library
  /// from data/bpe_simple_vocab_16e6.txt.gz, for single-file checkpoints that carry no tokenizer.
  static result<clip_tokenizer> standard();

  /// The vocabulary from the bytes of a bpe_simple_vocab_16e6.txt(.gz) file (gzip is detected).
  static result<clip_tokenizer> from_bpe_merges(std::string_view bytes);

  /// Token ids of `utf8`, without start and end tokens. Never fails: invalid UTF-8 becomes U+FFFD.
  std::vector<int32_t> encode(std::string_view utf8) const;

  int32_t bos() const { return bos_; }  ///< <|startoftext|> (49406 in CLIP's vocabulary).
  int32_t eos() const { return eos_; }  ///< <|endoftext|> (49407).
  size_t vocab_size() const { return encoder_.size(); }
  /// The id of one vocabulary entry (byte-encoded text, e.g. "cat</w>"), or -1.
  int32_t token_id(std::string_view token) const;

 private:
  clip_tokenizer() = default;
  status build(std::unordered_map<std::string, int32_t> encoder, const std::vector<std::string>& merges);
  void encode_word(const std::u32string& word, std::vector<int32_t>& out) const;

  std::unordered_map<std::string, int32_t> encoder_;
  std::unordered_map<std::string, int32_t> ranks_;  ///< "left right" -> merge priority
  int32_t bos_ = -1;
  int32_t eos_ = -1;
};

}  // namespace crowdiff::models
