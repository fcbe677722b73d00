#include "models/image/webp_codec.hpp"

#include <cstring>
#include <memory>

#include <webp/decode.h>
#include <webp/encode.h>
#include <webp/mux.h>

#include "models/image/image_format.hpp"
#include "models/image/png_codec.hpp"
#include "models/text/text_normalizer.hpp"

namespace crowdiff::models {
namespace {

constexpr uint16_t exif_ifd_pointer_tag = 0x8769;
constexpr uint16_t user_comment_tag = 0x9286;
constexpr char unicode_prefix[8] = {'U', 'N', 'I', 'C', 'O', 'D', 'E', '\0'};

void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
void put32(std::vector<uint8_t>& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v));
}

// A big-endian TIFF with IFD0 -> Exif IFD -> UserComment, the layout piexif writes for A1111.
std::vector<uint8_t> user_comment_exif(const std::string& text) {
  std::vector<uint8_t> comment(unicode_prefix, unicode_prefix + 8);
  for (char32_t c : decode_utf8(text)) {
    if (c >= 0x10000) {
      c -= 0x10000;
      put16(comment, static_cast<uint16_t>(0xD800 + (c >> 10)));
      put16(comment, static_cast<uint16_t>(0xDC00 + (c & 0x3FF)));
    } else {
      put16(comment, static_cast<uint16_t>(c));
    }
  }
  std::vector<uint8_t> exif = {'M', 'M', 0x00, 0x2A};
  put32(exif, 8);
  put16(exif, 1);  // IFD0: one entry, the Exif IFD pointer
  put16(exif, exif_ifd_pointer_tag);
  put16(exif, 4);  // LONG
  put32(exif, 1);
  put32(exif, 26);
  put32(exif, 0);
  put16(exif, 1);  // Exif IFD: one entry, UserComment
  put16(exif, user_comment_tag);
  put16(exif, 7);  // UNDEFINED
  put32(exif, static_cast<uint32_t>(comment.size()));
  put32(exif, 44);
  put32(exif, 0);
  exif.insert(exif.end(), comment.begin(), comment.end());
  return exif;
}

// Reads 16/32-bit values in the TIFF's byte order with bounds checks.
class tiff_reader {
 public:
  tiff_reader(const uint8_t* data, size_t size, bool big_endian)
      : data_(data), size_(size), big_(big_endian) {}
  bool u16(size_t at, uint16_t* v) const {
    if (at + 2 > size_)
      return false;
    *v = big_ ? static_cast<uint16_t>(data_[at] << 8 | data_[at + 1])
              : static_cast<uint16_t>(data_[at + 1] << 8 | data_[at]);
    return true;
  }
  bool u32(size_t at, uint32_t* v) const {
    uint16_t a = 0;
    uint16_t b = 0;
    if (!u16(at, &a) || !u16(at + 2, &b))
      return false;
    *v = big_ ? (uint32_t{a} << 16 | b) : (uint32_t{b} << 16 | a);
    return true;
  }
  // Finds `tag` in the IFD at `ifd`; returns the entry offset or 0.
  size_t find(size_t ifd, uint16_t tag) const {
    uint16_t count = 0;
    if (!u16(ifd, &count))
      return 0;
    for (size_t i = 0; i < count; ++i) {
      const size_t entry = ifd + 2 + i * 12;
      uint16_t t = 0;
      if (!u16(entry, &t))
        return 0;
      if (t == tag)
        return entry;
    }
    return 0;
  }
  bool big_endian() const { return big_; }

 private:
  const uint8_t* data_;
  size_t size_;
  bool big_;
};

result<std::string> parse_user_comment(const uint8_t* data, size_t size) {
  if (size >= 6 && std::memcmp(data, "Exif\0\0", 6) == 0) {
    data += 6;
    size -= 6;
  }
  const auto bad = [] { return status{errc::corruption, "WebP: damaged EXIF"}; };
  if (size < 8 || !((data[0] == 'M' && data[1] == 'M') || (data[0] == 'I' && data[1] == 'I')))
    return bad();
  const tiff_reader tiff(data, size, data[0] == 'M');
  uint32_t ifd0 = 0;
  uint32_t exif_ifd = 0;
  if (!tiff.u32(4, &ifd0))
    return bad();
  const size_t pointer = tiff.find(ifd0, exif_ifd_pointer_tag);
  if (pointer == 0)
    return std::string();
  if (!tiff.u32(pointer + 8, &exif_ifd))
    return bad();
  const size_t entry = tiff.find(exif_ifd, user_comment_tag);
  if (entry == 0)
    return std::string();
  uint32_t count = 0;
  uint32_t offset = 0;
  if (!tiff.u32(entry + 4, &count) || !tiff.u32(entry + 8, &offset))
    return bad();
  if (count <= 4)
    offset = static_cast<uint32_t>(entry + 8);
  if (count < 8 || offset > size || count > size - offset)
    return bad();
  const uint8_t* comment = data + offset;
  if (std::memcmp(comment, "ASCII\0\0\0", 8) == 0)
    return std::string(reinterpret_cast<const char*>(comment + 8), count - 8);
  if (std::memcmp(comment, unicode_prefix, 8) != 0)
    return std::string();
  std::u32string text;
  const tiff_reader utf16(comment, count, tiff.big_endian());
  for (size_t at = 8; at + 1 < count; at += 2) {
    uint16_t unit = 0;
    utf16.u16(at, &unit);
    uint16_t low = 0;
    if (unit >= 0xD800 && unit < 0xDC00 && utf16.u16(at + 2, &low) && low >= 0xDC00 && low < 0xE000) {
      text += static_cast<char32_t>(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00));
      at += 2;
    } else {
      text += static_cast<char32_t>(unit);
    }
  }
  return encode_utf8(text);
}

struct mux_deleter {
  void operator()(WebPMux* mux) const { WebPMuxDelete(mux); }
};

}  // namespace

result<std::vector<uint8_t>> encode_webp(const rgb_image& image, const webp_options& options) {
  if (!image.valid())
    return status{errc::invalid_argument, "encode_webp: the image has no pixels or a wrong buffer size"};
  if (image.width > WEBP_MAX_DIMENSION || image.height > WEBP_MAX_DIMENSION)
    return status{errc::invalid_argument, "encode_webp: WebP images are at most 16383 pixels a side"};
  uint8_t* encoded = nullptr;
  const size_t size = options.lossless ? WebPEncodeLosslessRGB(image.pixels.data(), image.width, image.height,
                                                               image.width * 3, &encoded)
                                       : WebPEncodeRGB(image.pixels.data(), image.width, image.height,
                                                       image.width * 3, options.quality, &encoded);
  if (size == 0) {
    WebPFree(encoded);
    return status{errc::internal, "encode_webp: libwebp failed"};
  }
  std::vector<uint8_t> plain(encoded, encoded + size);
  WebPFree(encoded);
  if (options.user_comment.empty())
    return plain;

  std::unique_ptr<WebPMux, mux_deleter> mux(WebPMuxNew());
  const std::vector<uint8_t> exif = user_comment_exif(options.user_comment);
  const WebPData image_data{plain.data(), plain.size()};
  const WebPData exif_data{exif.data(), exif.size()};
  WebPData assembled{nullptr, 0};
  if (!mux || WebPMuxSetImage(mux.get(), &image_data, 0) != WEBP_MUX_OK ||
      WebPMuxSetChunk(mux.get(), "EXIF", &exif_data, 0) != WEBP_MUX_OK ||
      WebPMuxAssemble(mux.get(), &assembled) != WEBP_MUX_OK) {
    WebPDataClear(&assembled);
    return status{errc::internal, "encode_webp: libwebpmux failed to add the EXIF chunk"};
  }
  std::vector<uint8_t> out(assembled.bytes, assembled.bytes + assembled.size);
  WebPDataClear(&assembled);
  return out;
}

result<rgb_image> decode_webp(std::string_view bytes, const image_limits& limits) {
  if (bytes.size() > limits.max_encoded_bytes)
    return status{errc::resource_exhausted,
                  "WebP of " + std::to_string(bytes.size()) + " bytes exceeds the limit"};
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  int width = 0;
  int height = 0;
  if (!WebPGetInfo(data, bytes.size(), &width, &height))
    return status{errc::corruption, "not a WebP image, or a damaged one"};
  if (width > limits.max_width || height > limits.max_height ||
      static_cast<size_t>(width) * static_cast<size_t>(height) > limits.max_pixels)
    return status{errc::resource_exhausted, "WebP of " + std::to_string(width) + "x" +
                                                std::to_string(height) + " exceeds the size limit"};
  rgb_image image;
  image.width = width;
  image.height = height;
  image.pixels.resize(static_cast<size_t>(width) * static_cast<size_t>(height) * 3);
  if (WebPDecodeRGBInto(data, bytes.size(), image.pixels.data(), image.pixels.size(), width * 3) == nullptr)
    return status{errc::corruption, "WebP: damaged image data"};
  return image;
}

result<std::string> read_webp_user_comment(std::string_view bytes) {
  const WebPData input{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
  std::unique_ptr<WebPMux, mux_deleter> mux(WebPMuxCreate(&input, 0));
  if (!mux)
    return status{errc::corruption, "not a WebP image, or a damaged one"};
  WebPData exif{nullptr, 0};
  if (WebPMuxGetChunk(mux.get(), "EXIF", &exif) != WEBP_MUX_OK)
    return std::string();
  return parse_user_comment(exif.bytes, exif.size);
}

result<rgb_image> decode_image(std::string_view bytes, const image_limits& limits) {
  auto format = image_format(bytes);
  if (format == "png")
    return decode_png(bytes, limits);
  if (format == "webp")
    return decode_webp(bytes, limits);
  return status{errc::unsupported, "source image is neither PNG nor WebP"};
}

}  // namespace crowdiff::models
