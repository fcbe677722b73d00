#include "models/text/clip_tokenizer.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <zlib.h>

#include "models/text/embedded_vocab.hpp"
#include "models/text/text_normalizer.hpp"

namespace crowdiff::models {
namespace {

constexpr std::string_view start_token = "<|startoftext|>";
constexpr std::string_view end_token = "<|endoftext|>";
constexpr size_t max_vocab_file_bytes = 16u << 20;

// GPT-2's reversible byte-to-unicode map: printable Latin-1 bytes map to themselves, the others to
// U+0100 onwards, so BPE never sees whitespace or control characters. Returns the code point per byte.
const std::array<char32_t, 256>& byte_encoder() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> t{};
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      t[static_cast<size_t>(b)] = printable ? static_cast<char32_t>(b) : next++;
    }
    return t;
  }();
  return table;
}

// The byte order in which bytes_to_unicode() lists its values: printable bytes first, then the rest.
std::vector<int> byte_encoder_order() {
  std::vector<int> order;
  for (int pass = 0; pass < 2; ++pass)
    for (int b = 0; b < 256; ++b)
      if ((byte_encoder()[static_cast<size_t>(b)] < 256) == (pass == 0))
        order.push_back(b);
  return order;
}

result<std::string> read_file(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec)
    return status{errc::io_error, path.string() + ": " + ec.message()};
  if (size > max_vocab_file_bytes)
    return status{errc::resource_exhausted, path.string() + ": larger than 16 MiB"};
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof())
    return status{errc::io_error, path.string() + ": read failed"};
  return text.str();
}

result<std::string> gunzip(std::string_view bytes) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
    return status{errc::internal, "zlib inflateInit2 failed"};
  std::string out;
  std::array<char, 1 << 16> buffer{};
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buffer.data());
    zs.avail_out = static_cast<uInt>(buffer.size());
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buffer.data(), buffer.size() - zs.avail_out);
    if (out.size() > max_vocab_file_bytes) {
      inflateEnd(&zs);
      return status{errc::resource_exhausted, "vocabulary larger than 16 MiB uncompressed"};
    }
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END)
    return status{errc::corruption, "vocabulary: damaged gzip data"};
  return out;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos)
      end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

// "a b" with exactly one space and two non-empty halves; the bytes are BPE symbols, never spaces.
bool valid_merge(std::string_view line) {
  const size_t space = line.find(' ');
  return space != std::string_view::npos && space > 0 && space + 1 < line.size() &&
         line.find(' ', space + 1) == std::string_view::npos;
}

}  // namespace

status clip_tokenizer::build(std::unordered_map<std::string, int32_t> encoder,
                             const std::vector<std::string>& merges) {
  encoder_ = std::move(encoder);
  ranks_.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    std::string joined = merges[i];
    joined.erase(joined.find(' '), 1);
    if (!encoder_.contains(joined))
      return status{errc::corruption,
                    "vocabulary: merge \"" + merges[i] + "\" makes a token not in the vocabulary"};
    ranks_.emplace(merges[i], static_cast<int32_t>(i));
  }
  bos_ = token_id(start_token);
  eos_ = token_id(end_token);
  if (bos_ < 0 || eos_ < 0)
    return status{errc::corruption, "vocabulary: no <|startoftext|> or <|endoftext|> token"};
  for (int b = 0; b < 256; ++b)
    if (token_id(encode_utf8(std::u32string(1, byte_encoder()[static_cast<size_t>(b)]))) < 0)
      return status{errc::corruption, "vocabulary: a byte has no token"};
  return status::ok();
}

result<clip_tokenizer> clip_tokenizer::from_files(const std::filesystem::path& vocab_json,
                                                  const std::filesystem::path& merges_txt) {
  auto vocab_text = read_file(vocab_json);
  if (!vocab_text)
    return vocab_text.error();
  auto merges_text = read_file(merges_txt);
  if (!merges_text)
    return merges_text.error();
  const nlohmann::json vocab = nlohmann::json::parse(*vocab_text, nullptr, false);
  if (vocab.is_discarded() || !vocab.is_object())
    return status{errc::corruption, vocab_json.string() + ": not a JSON object"};
  std::unordered_map<std::string, int32_t> encoder;
  encoder.reserve(vocab.size());
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
      return status{errc::corruption, vocab_json.string() + ": id of \"" + token + "\" is not a token id"};
    encoder.emplace(token, id.get<int32_t>());
  }
  std::vector<std::string> merges;
  for (std::string_view line : split_lines(*merges_text)) {
    if (line.empty() || line.starts_with("#version"))
      continue;
    if (!valid_merge(line))
      return status{errc::corruption,
                    merges_txt.string() + ": malformed merge \"" + std::string(line) + "\""};
    merges.emplace_back(line);
  }
  clip_tokenizer tokenizer;
  auto st = tokenizer.build(std::move(encoder), merges);
  if (!st)
    return st.with_context(vocab_json.parent_path().string());
  return tokenizer;
}

result<clip_tokenizer> clip_tokenizer::standard() {
  return from_bpe_merges(embedded_clip_bpe_gz());
}

result<clip_tokenizer> clip_tokenizer::from_bpe_merges(std::string_view bytes) {
  std::string unpacked;
  if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
      static_cast<unsigned char>(bytes[1]) == 0x8b) {
    auto text = gunzip(bytes);
    if (!text)
      return text.error();
    unpacked = std::move(*text);
    bytes = unpacked;
  }
  // OpenAI's file: a version line, then merges; CLIP uses the first 49152 - 256 - 2 of them so that bytes,
  // bytes + "</w>", merges and the two special tokens make 49,408 ids.
  const std::vector<std::string_view> lines = split_lines(bytes);
  constexpr size_t merge_count = 49152 - 256 - 2;
  if (lines.size() < merge_count + 1)
    return status{errc::corruption, "vocabulary: fewer than 48,894 merges"};
  std::vector<std::string> merges;
  merges.reserve(merge_count);
  for (size_t i = 1; i <= merge_count; ++i) {
    if (!valid_merge(lines[i]))
      return status{errc::corruption, "vocabulary: malformed merge on line " + std::to_string(i + 1)};
    merges.emplace_back(lines[i]);
  }
  std::vector<std::string> tokens;
  const std::vector<int> order = byte_encoder_order();
  for (int b : order)
    tokens.push_back(encode_utf8(std::u32string(1, byte_encoder()[static_cast<size_t>(b)])));
  for (int b : order)
    tokens.push_back(encode_utf8(std::u32string(1, byte_encoder()[static_cast<size_t>(b)])) + "</w>");
  for (const auto& merge : merges) {
    std::string joined = merge;
    joined.erase(joined.find(' '), 1);
    tokens.push_back(std::move(joined));
  }
  tokens.emplace_back(start_token);
  tokens.emplace_back(end_token);
  std::unordered_map<std::string, int32_t> encoder;
  encoder.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i)
    encoder.emplace(tokens[i], static_cast<int32_t>(i));
  clip_tokenizer tokenizer;
  CROWDIFF_RETURN_IF_ERROR(tokenizer.build(std::move(encoder), merges));
  return tokenizer;
}

int32_t clip_tokenizer::token_id(std::string_view token) const {
  const auto it = encoder_.find(std::string(token));
  return it == encoder_.end() ? -1 : it->second;
}

void clip_tokenizer::encode_word(const std::u32string& word, std::vector<int32_t>& out) const {
  // Symbols start as the byte-encoded characters of the word's UTF-8; the last one carries "</w>".
  const std::string bytes = encode_utf8(word);
  std::vector<std::string> symbols;
  symbols.reserve(bytes.size());
  for (unsigned char b : bytes)
    symbols.push_back(encode_utf8(std::u32string(1, byte_encoder()[b])));
  if (symbols.empty())
    return;
  symbols.back() += "</w>";
  while (symbols.size() > 1) {
    int32_t best_rank = INT32_MAX;
    size_t best = 0;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      const auto it = ranks_.find(symbols[i] + " " + symbols[i + 1]);
      if (it != ranks_.end() && it->second < best_rank) {
        best_rank = it->second;
        best = i;
      }
    }
    if (best_rank == INT32_MAX)
      break;
    // Merge every occurrence of the best pair, left to right, as the reference does.
    const std::string first = symbols[best];
    const std::string second = symbols[best + 1];
    std::vector<std::string> merged;
    merged.reserve(symbols.size());
    for (size_t i = 0; i < symbols.size(); ++i) {
      if (i + 1 < symbols.size() && symbols[i] == first && symbols[i + 1] == second) {
        merged.push_back(first + second);
        ++i;
      } else {
        merged.push_back(std::move(symbols[i]));
      }
    }
    symbols = std::move(merged);
  }
  for (const auto& symbol : symbols) {
    const int32_t id = token_id(symbol);
    // Every merge result and every byte symbol is in the vocabulary (checked in build), so id >= 0.
    if (id >= 0)
      out.push_back(id);
  }
}

std::vector<int32_t> clip_tokenizer::encode(std::string_view utf8) const {
  const std::u32string text = clip_clean_text(utf8);
  std::vector<int32_t> ids;
  const std::u32string start = decode_utf8(start_token);
  const std::u32string end = decode_utf8(end_token);
  static constexpr std::u32string_view contractions[] = {U"'s", U"'t", U"'re", U"'ve", U"'m", U"'ll", U"'d"};
  size_t i = 0;
  while (i < text.size()) {
    const std::u32string_view rest = std::u32string_view(text).substr(i);
    if (rest.starts_with(start) || rest.starts_with(end)) {
      ids.push_back(rest.starts_with(start) ? bos_ : eos_);
      i += rest.starts_with(start) ? start.size() : end.size();
      continue;
    }
    const auto contraction = std::find_if(std::begin(contractions), std::end(contractions),
                                          [&](std::u32string_view c) { return rest.starts_with(c); });
    size_t length = 0;
    if (contraction != std::end(contractions)) {
      length = contraction->size();
    } else if (is_unicode_letter(text[i])) {
      while (i + length < text.size() && is_unicode_letter(text[i + length]))
        ++length;
    } else if (is_unicode_number(text[i])) {
      length = 1;
    } else if (!is_unicode_space(text[i])) {
      // HF splits special tokens out before the pattern runs, so a punctuation run stops at one.
      const auto special_at = [&](size_t at) {
        const std::u32string_view tail = std::u32string_view(text).substr(at);
        return tail.starts_with(start) || tail.starts_with(end);
      };
      while (i + length < text.size() && !is_unicode_space(text[i + length]) &&
             !is_unicode_letter(text[i + length]) && !is_unicode_number(text[i + length]) &&
             (length == 0 || !special_at(i + length)))
        ++length;
    }
    if (length == 0) {
      ++i;  // whitespace separates words and is not a token
      continue;
    }
    encode_word(text.substr(i, length), ids);
    i += length;
  }
  return ids;
}

}  // namespace crowdiff::models
