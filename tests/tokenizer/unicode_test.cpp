// UTF-8 decoding, character classes, White_Space and NFC against hand-checked values (code
// points looked up in the Unicode charts).
#include <gtest/gtest.h>

#include "tokenizer/unicode.h"

namespace kiln::tokenizer {
namespace {

Utf8Char at0(std::string_view s) { return decode_utf8(s, 0); }

TEST(Utf8, DecodesValidSequences) {
  EXPECT_EQ(at0("A").cp, 0x41u);
  EXPECT_EQ(at0("\xC3\xA9").cp, 0xE9u);  // é
  EXPECT_EQ(at0("\xC3\xA9").len, 2u);
  EXPECT_EQ(at0("\xE2\x82\xAC").cp, 0x20ACu);  // €
  EXPECT_EQ(at0("\xF0\x9F\x98\x80").cp, 0x1F600u);
  EXPECT_EQ(at0("\xF0\x9F\x98\x80").len, 4u);
  EXPECT_EQ(at0("\xF4\x8F\xBF\xBF").cp, 0x10FFFFu);
}

TEST(Utf8, InvalidBytesAreOneCharacterEach) {
  for (std::string_view bad : {std::string_view("\xC0\x80"),          // overlong
                               std::string_view("\xED\xA0\x80"),      // surrogate
                               std::string_view("\xF4\x90\x80\x80"),  // past U+10FFFF
                               std::string_view("\xE2\x82"),          // truncated
                               std::string_view("\x80"),              // lone continuation
                               std::string_view("\xFF")}) {
    const Utf8Char c = at0(bad);
    EXPECT_EQ(c.cp, kInvalidByte + uint8_t(bad[0]));
    EXPECT_EQ(c.len, 1u);
  }
  std::string out;
  append_utf8(out, kInvalidByte + 0xFF);
  append_utf8(out, 0x1F600);
  EXPECT_EQ(out, "\xFF\xF0\x9F\x98\x80");
}

TEST(Unicode, ClassesOfSampleCharacters) {
  EXPECT_EQ(char_class('A'), CharClass::kLu);
  EXPECT_EQ(char_class('z'), CharClass::kLl);
  EXPECT_EQ(char_class(0x01C5), CharClass::kLt);   // ǅ
  EXPECT_EQ(char_class(0x02B0), CharClass::kLm);   // ʰ
  EXPECT_EQ(char_class(0x4E2D), CharClass::kLo);   // 中
  EXPECT_EQ(char_class(0x0301), CharClass::kMark);  // combining acute
  EXPECT_EQ(char_class(0x093F), CharClass::kMark);  // Devanagari vowel sign i (Mc)
  EXPECT_EQ(char_class('7'), CharClass::kNumber);
  EXPECT_EQ(char_class(0x00BD), CharClass::kNumber);  // ½ (No)
  EXPECT_EQ(char_class(0x216B), CharClass::kNumber);  // Ⅻ (Nl)
  EXPECT_EQ(char_class('!'), CharClass::kOther);
  EXPECT_EQ(char_class(0x1F600), CharClass::kOther);  // emoji (So)
  EXPECT_EQ(char_class(0x1D400), CharClass::kLu);     // 𝐀, above the BMP
  EXPECT_EQ(char_class(0xE0100), CharClass::kMark);   // variation selector 17
  EXPECT_EQ(char_class(0x10FFFF), CharClass::kOther);
  EXPECT_EQ(char_class(kInvalidByte + 0xFF), CharClass::kOther);
  EXPECT_STREQ(unicode_version(), "14.0.0");
}

TEST(Unicode, WhiteSpaceIsThePropertyNotJavaScriptsSet) {
  for (uint32_t cp : {0x09u, 0x0Au, 0x0Bu, 0x0Cu, 0x0Du, 0x20u, 0x85u, 0xA0u, 0x1680u, 0x2000u,
                      0x200Au, 0x2028u, 0x2029u, 0x202Fu, 0x205Fu, 0x3000u}) {
    EXPECT_TRUE(is_white_space(cp)) << std::hex << cp;
  }
  for (uint32_t cp : {0x08u, 0x1Cu, 0x200Bu, 0xFEFFu, 0x180Eu, uint32_t('a')}) {
    EXPECT_FALSE(is_white_space(cp)) << std::hex << cp;
  }
}

std::string nfc_of(std::string_view s) {
  std::string out;
  return nfc(s, out) ? out : std::string(s);
}

TEST(Nfc, ComposesReordersAndKeepsExclusions) {
  std::string out;
  EXPECT_FALSE(nfc("plain ASCII and caf\xC3\xA9", out));  // nothing that could change
  EXPECT_EQ(nfc_of("e\xCC\x81"), "\xC3\xA9");             // e + U+0301 -> é
  EXPECT_EQ(nfc_of("A\xCC\x8A"), "\xC3\x85");             // A + ring -> Å
  EXPECT_EQ(nfc_of("\xE2\x84\xAB"), "\xC3\x85");          // U+212B ANGSTROM SIGN -> Å
  EXPECT_EQ(nfc_of("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8"), "\xEA\xB0\x81");  // jamo -> 각
  // a + acute (230) + ogonek (202): ogonek sorts first and composes, acute stays.
  EXPECT_EQ(nfc_of("a\xCC\x81\xCC\xA8"), "\xC4\x85\xCC\x81");
  // U+0958 DEVANAGARI QA is a composition exclusion: it decomposes and never recomposes.
  EXPECT_EQ(nfc_of("\xE0\xA5\x98"), "\xE0\xA4\x95\xE0\xA4\xBC");
  EXPECT_EQ(nfc_of("\xE0\xA4\x95\xE0\xA4\xBC"), "\xE0\xA4\x95\xE0\xA4\xBC");
  // Blocked: a second acute after an acute cannot reach the starter.
  EXPECT_EQ(nfc_of("e\xCC\x81\xCC\x81"), "\xC3\xA9\xCC\x81");
  // Invalid bytes pass through untouched.
  EXPECT_EQ(nfc_of("e\xCC\x81\xFF"), "\xC3\xA9\xFF");
}

}  // namespace
}  // namespace kiln::tokenizer
