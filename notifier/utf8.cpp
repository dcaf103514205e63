#include "utf8.h"

namespace beckon {

std::size_t utf8Length(std::string_view text, std::size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) return 1;
  std::size_t length = 0;
  char32_t point = 0, least = 0;
  if ((c & 0xe0) == 0xc0) {
    length = 2, point = c & 0x1f, least = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    length = 3, point = c & 0x0f, least = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    length = 4, point = c & 0x07, least = 0x10000;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xc0) != 0x80) return 0;
    point = (point << 6) | (b & 0x3f);
  }
  const bool surrogate = point >= 0xd800 && point <= 0xdfff;
  return point < least || point > 0x10ffff || surrogate ? 0 : length;
}

bool validUtf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
    } else if (const std::size_t n = utf8Length(text, i)) {
      i += n;
    } else {
      return false;
    }
  }
  return true;
}

void appendUtf8Escaped(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < text.size();) {
    if (const std::size_t n = utf8Length(text, i)) {
      out.append(text.substr(i, n));
      i += n;
    } else {
      const auto c = static_cast<unsigned char>(text[i++]);
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
}

}  // namespace beckon
