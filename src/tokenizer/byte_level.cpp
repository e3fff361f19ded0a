#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/unicode.h"

namespace kiln::tokenizer {

namespace {

bool maps_to_itself(uint32_t b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct Tables {
  std::array<uint32_t, 256> to_cp{};
  std::array<int16_t, 0x200> to_byte{};  // every mapped code point is below U+0200; -1: none
};

const Tables kTables = [] {
  Tables t;
  t.to_byte.fill(-1);
  uint32_t next = 0x100;
  for (uint32_t b = 0; b < 256; ++b) {
    t.to_cp[b] = maps_to_itself(b) ? b : next++;
    t.to_byte[t.to_cp[b]] = int16_t(b);
  }
  return t;
}();

}  // namespace

uint32_t byte_to_code_point(uint8_t byte) { return kTables.to_cp[byte]; }

std::string byte_level_encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char b : bytes) append_utf8(out, kTables.to_cp[uint8_t(b)]);
  return out;
}

bool byte_level_decode(std::string_view text, std::string& out) {
  out.clear();
  for (size_t i = 0; i < text.size();) {
    Utf8Char c = decode_utf8(text, i);
    if (c.cp >= kTables.to_byte.size() || kTables.to_byte[c.cp] < 0) return false;
    out.push_back(char(kTables.to_byte[c.cp]));
    i += c.len;
  }
  return true;
}

}  // namespace kiln::tokenizer
