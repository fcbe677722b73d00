#include "models/image/png_codec.hpp"

#include <csetjmp>
#include <cstring>
#include <png.h>

namespace crowdiff::models {
namespace {

bool is_latin1_ascii(const std::string& text) {
  for (unsigned char c : text)
    if (c >= 0x80)
      return false;
  return true;
}

void append_bytes(png_structp png, png_bytep data, png_size_t length) {
  auto* out = static_cast<std::vector<uint8_t>*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + length);
}

void flush_nothing(png_structp) {}

// Errors are reported through our status; libpng's defaults would also print to stderr.
[[noreturn]] void jump_on_error(png_structp png, png_const_charp) {
  png_longjmp(png, 1);
}
void ignore_warning(png_structp, png_const_charp) {}

struct read_cursor {
  const uint8_t* data;
  size_t size;
  size_t offset;
};

void read_bytes(png_structp png, png_bytep out, png_size_t length) {
  auto* cursor = static_cast<read_cursor*>(png_get_io_ptr(png));
  if (length > cursor->size - cursor->offset)
    png_error(png, "truncated PNG");
  std::memcpy(out, cursor->data + cursor->offset, length);
  cursor->offset += length;
}

// libpng reports errors by longjmp; these wrappers keep every object with a destructor outside the frames
// it jumps over. Returns false on error.
bool write_png(png_structp png, png_infop info, const rgb_image& image, std::vector<png_text>& texts,
               std::vector<uint8_t>* out) {
  if (setjmp(png_jmpbuf(png)))
    return false;
  png_set_write_fn(png, out, append_bytes, flush_nothing);
  png_set_IHDR(png, info, static_cast<png_uint_32>(image.width), static_cast<png_uint_32>(image.height), 8,
               PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (!texts.empty())
    png_set_text(png, info, texts.data(), static_cast<int>(texts.size()));
  png_write_info(png, info);
  const size_t stride = static_cast<size_t>(image.width) * 3;
  for (int y = 0; y < image.height; ++y)
    png_write_row(png, const_cast<png_bytep>(image.pixels.data() + stride * static_cast<size_t>(y)));
  png_write_end(png, info);
  return true;
}

bool read_text_chunks(png_structp png, png_infop info, read_cursor* cursor, png_textp* text, int* count) {
  if (setjmp(png_jmpbuf(png)))
    return false;
  png_set_read_fn(png, cursor, read_bytes);
  png_read_info(png, info);
  png_get_text(png, info, text, count);
  return true;
}

// Walks the chunk list before libpng sees it: every chunk must fit in the bytes we have and the file must
// end with IEND. libpng would otherwise size its buffers from damaged length fields (up to 2 GiB each).
bool chunks_fit(std::string_view bytes) {
  size_t offset = 8;
  while (offset + 12 <= bytes.size()) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + offset);
    const uint32_t length = uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
    if (length > bytes.size() - offset - 12)
      return false;
    if (std::memcmp(p + 4, "IEND", 4) == 0)
      return true;
    offset += 12 + length;
  }
  return false;
}

bool is_png(std::string_view bytes) {
  return bytes.size() >= 8 && png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, 8) == 0;
}

}  // namespace

result<std::vector<uint8_t>> encode_png(const rgb_image& image,
                                        const std::vector<std::pair<std::string, std::string>>& text) {
  if (!image.valid())
    return status{errc::invalid_argument, "encode_png: the image has no pixels or a wrong buffer size"};
  std::vector<png_text> chunks;
  for (const auto& [key, value] : text) {
    if (key.empty() || key.size() > 79 || !is_latin1_ascii(key))
      return status{errc::invalid_argument,
                    "encode_png: text key \"" + key + "\" is not 1-79 ASCII characters"};
    png_text chunk{};
    chunk.compression = is_latin1_ascii(value) ? PNG_TEXT_COMPRESSION_NONE : PNG_ITXT_COMPRESSION_NONE;
    chunk.key = const_cast<char*>(key.c_str());
    chunk.text = const_cast<char*>(value.c_str());
    if (chunk.compression == PNG_TEXT_COMPRESSION_NONE)
      chunk.text_length = value.size();
    else
      chunk.itxt_length = value.size();
    chunks.push_back(chunk);
  }
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, jump_on_error, ignore_warning);
  png_infop info = png != nullptr ? png_create_info_struct(png) : nullptr;
  if (info == nullptr) {
    png_destroy_write_struct(&png, nullptr);
    return status{errc::internal, "encode_png: libpng initialisation failed"};
  }
  std::vector<uint8_t> out;
  const bool ok = write_png(png, info, image, chunks, &out);
  png_destroy_write_struct(&png, &info);
  if (!ok)
    return status{errc::internal, "encode_png: libpng failed"};
  return out;
}

result<rgb_image> decode_png(std::string_view bytes, const image_limits& limits) {
  if (bytes.size() > limits.max_encoded_bytes)
    return status{errc::resource_exhausted,
                  "PNG of " + std::to_string(bytes.size()) + " bytes exceeds the limit"};
  if (!is_png(bytes))
    return status{errc::corruption, "not a PNG"};
  if (!chunks_fit(bytes))
    return status{errc::corruption, "PNG: truncated, or a chunk length runs past the end"};
  png_image reader{};
  reader.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&reader, bytes.data(), bytes.size()))
    return status{errc::corruption, std::string("PNG: ") + reader.message};
  const auto width = static_cast<size_t>(reader.width);
  const auto height = static_cast<size_t>(reader.height);
  if (width > static_cast<size_t>(limits.max_width) || height > static_cast<size_t>(limits.max_height) ||
      width * height > limits.max_pixels) {
    png_image_free(&reader);
    return status{errc::resource_exhausted, "PNG of " + std::to_string(width) + "x" + std::to_string(height) +
                                                " exceeds the size limit"};
  }
  reader.format = PNG_FORMAT_RGBA;
  std::vector<uint8_t> rgba(PNG_IMAGE_SIZE(reader));
  if (!png_image_finish_read(&reader, nullptr, rgba.data(), 0, nullptr))
    return status{errc::corruption, std::string("PNG: ") + reader.message};
  rgb_image image;
  image.width = static_cast<int>(width);
  image.height = static_cast<int>(height);
  image.pixels.resize(width * height * 3);
  for (size_t i = 0; i < width * height; ++i)
    std::memcpy(&image.pixels[i * 3], &rgba[i * 4], 3);
  return image;
}

result<std::vector<std::pair<std::string, std::string>>> read_png_text(std::string_view bytes) {
  if (!is_png(bytes))
    return status{errc::corruption, "not a PNG"};
  if (!chunks_fit(bytes))
    return status{errc::corruption, "PNG: truncated, or a chunk length runs past the end"};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, jump_on_error, ignore_warning);
  png_infop info = png != nullptr ? png_create_info_struct(png) : nullptr;
  if (info == nullptr) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    return status{errc::internal, "read_png_text: libpng initialisation failed"};
  }
  read_cursor cursor{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), 0};
  png_textp text = nullptr;
  int count = 0;
  const bool ok = read_text_chunks(png, info, &cursor, &text, &count);
  std::vector<std::pair<std::string, std::string>> out;
  if (ok)
    for (int i = 0; i < count; ++i)
      out.emplace_back(text[i].key, std::string(text[i].text, text[i].compression > 0 ? text[i].itxt_length
                                                                                      : text[i].text_length));
  png_destroy_read_struct(&png, &info, nullptr);
  if (!ok)
    return status{errc::corruption, "PNG: damaged header or text chunk"};
  return out;
}

}  // namespace crowdiff::models
