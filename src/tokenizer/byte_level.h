#pragma once
// GPT-2's byte-level alphabet: every byte maps to a printable code point (printable Latin-1
// bytes to themselves, the other 68 to U+0100.. in byte order), so byte-level BPE vocabularies
// store "Ġhello" for the bytes " hello".
#include <cstdint>
#include <string>
#include <string_view>

namespace kiln::tokenizer {

uint32_t byte_to_code_point(uint8_t byte);
// The UTF-8 of each byte's code point.
std::string byte_level_encode(std::string_view bytes);
// The bytes behind a byte-level string; false (out unspecified) when text has a character
// outside the alphabet, i.e. it is not a byte-level token.
bool byte_level_decode(std::string_view text, std::string& out);

}  // namespace kiln::tokenizer
