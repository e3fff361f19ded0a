#pragma once
// The Unicode facts the tokenizers need: lenient UTF-8 decoding, the letter/number/mark classes
// and White_Space that the pre-tokenizer regexes test, and NFC normalization (Qwen's normalizer).
// Tables come from unicode_data.cpp (generated; its header comment names the Unicode version).
//
// Invalid UTF-8 policy: a byte that does not start a valid, complete, shortest-form sequence is
// one "character" of its own, code point kInvalidByte + byte. It is in no letter/number/space
// class (it behaves like U+FFFD in the regexes), never changes under NFC, and is written back as
// the same byte, so encoding and decoding stay lossless.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::tokenizer {

constexpr uint32_t kInvalidByte = 0x110000;  // + the byte value

struct Utf8Char {
  uint32_t cp;   // code point, or kInvalidByte + byte
  uint32_t len;  // bytes consumed (1 for an invalid byte)
};

// Decodes the character starting at text[pos] (pos < text.size()).
Utf8Char decode_utf8(std::string_view text, size_t pos);
// Appends cp as UTF-8 (an invalid-byte code point appends its byte).
void append_utf8(std::string& out, uint32_t cp);
// Bytes a sequence with this lead byte has (1..4), or 0 when it cannot start one.
int utf8_sequence_length(uint8_t lead);

enum class CharClass : uint8_t { kOther, kLu, kLl, kLt, kLm, kLo, kMark, kNumber };
CharClass char_class(uint32_t cp);
// Unicode's White_Space property (what Rust's and Oniguruma's \s match).
bool is_white_space(uint32_t cp);
uint8_t combining_class(uint32_t cp);

// NFC of text. Returns false (out untouched) when text is already NFC for certain (the common
// case: no code point that could change, checked without allocating).
bool nfc(std::string_view text, std::string& out);

const char* unicode_version();

}  // namespace kiln::tokenizer
