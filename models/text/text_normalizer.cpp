#include "models/text/text_normalizer.hpp"

#include <algorithm>
#include <cstring>

#include "models/text/unicode_tables.hpp"

namespace crowdiff::models {
namespace {

namespace t = text_tables;

bool in_ranges(const t::code_range* ranges, size_t count, char32_t c) {
  const auto* end = ranges + count;
  const auto* it = std::upper_bound(ranges, end, static_cast<uint32_t>(c),
                                    [](uint32_t value, const t::code_range& r) { return value < r.first; });
  return it != ranges && static_cast<uint32_t>(c) <= (it - 1)->last;
}

void append_utf8_cstr(const char* utf8, std::u32string& out) {
  out += decode_utf8(std::string_view(utf8, std::strlen(utf8)));
}

// One numeric reference, digits already parsed (saturated); Python's rules for the replacement.
void append_numeric(uint64_t number, std::u32string& out) {
  const auto* refs = t::html_invalid_charrefs;
  const auto* refs_end = refs + t::html_invalid_charref_count;
  const auto ref = std::lower_bound(refs, refs_end, number,
                                    [](const t::html_charref& r, uint64_t n) { return r.number < n; });
  if (ref != refs_end && ref->number == number) {
    append_utf8_cstr(ref->value, out);
    return;
  }
  if ((number >= 0xD800 && number <= 0xDFFF) || number > 0x10FFFF) {
    out += U'\uFFFD';
    return;
  }
  if (std::binary_search(t::html_dropped_codepoints,
                         t::html_dropped_codepoints + t::html_dropped_codepoint_count,
                         static_cast<uint32_t>(number)))
    return;
  out += static_cast<char32_t>(number);
}

const char* find_entity(const std::string& name) {
  const auto* begin = t::html_entities;
  const auto* end = begin + t::html_entity_count;
  const auto it = std::lower_bound(begin, end, name,
                                   [](const t::html_entity& e, const std::string& n) { return e.name < n; });
  return it != end && it->name == name ? it->value : nullptr;
}

bool is_hex(char32_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Parses one reference after the '&' at text[i]; appends its replacement and returns the characters
// consumed after the '&', or 0 when nothing matches the reference pattern (the '&' stays literal).
size_t unescape_one(std::u32string_view text, size_t i, std::u32string& out) {
  const size_t start = i + 1;
  if (start < text.size() && text[start] == '#') {
    const bool hex = start + 1 < text.size() && (text[start + 1] == 'x' || text[start + 1] == 'X');
    size_t j = start + (hex ? 2 : 1);
    uint64_t number = 0;
    const size_t digits_begin = j;
    while (j < text.size() && (hex ? is_hex(text[j]) : (text[j] >= '0' && text[j] <= '9'))) {
      const char32_t c = text[j];
      const uint64_t digit = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
      number = std::min<uint64_t>(number * (hex ? 16 : 10) + digit, 0x7fffffff);
      ++j;
    }
    if (j == digits_begin)
      return 0;
    if (j < text.size() && text[j] == ';')
      ++j;
    append_numeric(number, out);
    return j - start;
  }
  // Named: up to 32 characters other than tab, newline, form feed, space, '<', '&', '#', ';', then ';'?
  size_t j = start;
  while (j < text.size() && j - start < 32) {
    const char32_t c = text[j];
    if (c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' || c == ';')
      break;
    ++j;
  }
  if (j == start)
    return 0;
  if (j < text.size() && text[j] == ';')
    ++j;
  const std::u32string_view name = text.substr(start, j - start);
  const std::string name_utf8 = encode_utf8(name);
  if (const char* value = find_entity(name_utf8)) {
    append_utf8_cstr(value, out);
    return name.size();
  }
  // The longest prefix of at least two characters that is an entity, the rest kept verbatim.
  for (size_t x = name.size() - 1; x > 1; --x) {
    if (const char* value = find_entity(encode_utf8(name.substr(0, x)))) {
      append_utf8_cstr(value, out);
      out += name.substr(x);
      return name.size();
    }
  }
  out += U'&';
  out += name;
  return name.size();
}

void append_lower(char32_t c, std::u32string& out) {
  const auto* begin = t::lower_map;
  const auto* end = begin + t::lower_map_count;
  const auto it = std::lower_bound(begin, end, static_cast<uint32_t>(c),
                                   [](const t::lower_entry& e, uint32_t v) { return e.code_point < v; });
  if (it == end || it->code_point != c) {
    out += c;
    return;
  }
  for (uint32_t l : it->lower)
    if (l != 0)
      out += static_cast<char32_t>(l);
}

}  // namespace

bool is_unicode_letter(char32_t c) {
  return in_ranges(t::letter_ranges, t::letter_range_count, c);
}
bool is_unicode_number(char32_t c) {
  return in_ranges(t::number_ranges, t::number_range_count, c);
}
bool is_unicode_space(char32_t c) {
  return in_ranges(t::space_ranges, t::space_range_count, c);
}

std::u32string decode_utf8(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    int extra = 0;
    char32_t c = 0;
    char32_t min = 0;
    if (b0 < 0x80) {
      out += b0;
      ++i;
      continue;
    } else if ((b0 & 0xE0) == 0xC0) {
      extra = 1, c = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      extra = 2, c = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      extra = 3, c = b0 & 0x07, min = 0x10000;
    } else {
      out += U'\uFFFD';
      ++i;
      continue;
    }
    bool ok = i + static_cast<size_t>(extra) < text.size() + 0;
    for (int k = 1; ok && k <= extra; ++k) {
      const auto b = static_cast<unsigned char>(text[i + static_cast<size_t>(k)]);
      if ((b & 0xC0) != 0x80)
        ok = false;
      else
        c = (c << 6) | (b & 0x3F);
    }
    if (!ok || c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
      out += U'\uFFFD';
      ++i;
      continue;
    }
    out += c;
    i += static_cast<size_t>(extra) + 1;
  }
  return out;
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
      c = 0xFFFD;
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xE0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

std::u32string html_unescape(std::u32string_view text) {
  if (text.find(U'&') == std::u32string_view::npos)
    return std::u32string(text);
  std::u32string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '&') {
      out += text[i++];
      continue;
    }
    const size_t consumed = unescape_one(text, i, out);
    if (consumed == 0)
      out += U'&';
    i += consumed + 1;
  }
  return out;
}

std::u32string clip_clean_text(std::string_view utf8) {
  const std::u32string unescaped = html_unescape(html_unescape(decode_utf8(utf8)));
  std::u32string collapsed;
  collapsed.reserve(unescaped.size());
  for (char32_t c : unescaped) {
    if (is_unicode_space(c)) {
      if (!collapsed.empty() && collapsed.back() != U' ')
        collapsed += U' ';
    } else {
      collapsed += c;
    }
  }
  while (!collapsed.empty() && collapsed.back() == U' ')
    collapsed.pop_back();
  std::u32string lowered;
  lowered.reserve(collapsed.size());
  for (size_t i = 0; i < collapsed.size(); ++i) {
    const char32_t c = collapsed[i];
    if (c == U'\u03A3') {
      // Python's final-sigma rule: a capital sigma after a letter and not before one becomes final sigma.
      const bool after_letter = i > 0 && is_unicode_letter(collapsed[i - 1]);
      const bool before_letter = i + 1 < collapsed.size() && is_unicode_letter(collapsed[i + 1]);
      lowered += after_letter && !before_letter ? U'\u03C2' : U'\u03C3';
      continue;
    }
    append_lower(c, lowered);
  }
  return lowered;
}

}  // namespace crowdiff::models
