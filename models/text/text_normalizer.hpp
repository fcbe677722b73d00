#pragma once

#include <string>
#include <string_view>

namespace crowdiff::models {

/// Decodes UTF-8 into code points. Malformed sequences (bad lead or continuation bytes, overlongs,
/// surrogates, values above U+10FFFF) become U+FFFD one byte at a time, so any byte string is accepted.
std::u32string decode_utf8(std::string_view text);
/// Encodes code points as UTF-8 (surrogates and values above U+10FFFF become U+FFFD).
std::string encode_utf8(std::u32string_view text);

/// Python's html.unescape(): numeric references (&#65; &#x41;, with the HTML5 replacement rules) and the
/// 2,231 HTML5 named references, longest prefix first when the ';' is missing.
std::u32string html_unescape(std::u32string_view text);

/// The text cleanup of CLIP's tokenizer: html.unescape twice, runs of Unicode whitespace to one space,
/// stripped, then lower-cased as Python's str.lower() does (final sigma included). ftfy's repairs
/// (mojibake, NFC, curly quotes) are not applied; see README.md.
std::u32string clip_clean_text(std::string_view utf8);

/// Character classes of the `regex` module, as CLIP's split pattern uses them.
bool is_unicode_letter(char32_t c);  ///< \p{L}
bool is_unicode_number(char32_t c);  ///< \p{N}
bool is_unicode_space(char32_t c);   ///< \s

}  // namespace crowdiff::models
