// Pre-tokenizer splits worked out by hand from each family's regex (see pre_tokenizer.h),
// including the backtracking cases.
#include <gtest/gtest.h>

#include "tokenizer/pre_tokenizer.h"

namespace kiln::tokenizer {
namespace {

using Pieces = std::vector<std::string>;

Pieces split(PreTokenizer kind, std::string_view text) {
  std::vector<std::string_view> views;
  pre_tokenize(kind, text, views);
  return Pieces(views.begin(), views.end());
}

TEST(PreTokenizer, Names) {
  EXPECT_EQ(pre_tokenizer_from_name("llama-bpe"), PreTokenizer::kLlama3);
  EXPECT_EQ(pre_tokenizer_from_name("qwen2"), PreTokenizer::kQwen2);
  EXPECT_EQ(pre_tokenizer_from_name("gpt-4o"), PreTokenizer::kO200k);
  EXPECT_EQ(pre_tokenizer_from_name("falcon"), std::nullopt);
  EXPECT_STREQ(pre_tokenizer_name(PreTokenizer::kO200k), "gpt-4o");
}

TEST(PreTokenizer, Llama3) {
  const auto k = PreTokenizer::kLlama3;
  EXPECT_EQ(split(k, ""), Pieces{});
  EXPECT_EQ(split(k, "Hello world"), (Pieces{"Hello", " world"}));
  EXPECT_EQ(split(k, "I'm DON'T we'LL"), (Pieces{"I", "'m", " DON", "'T", " we", "'LL"}));
  EXPECT_EQ(split(k, "1234567"), (Pieces{"123", "456", "7"}));
  EXPECT_EQ(split(k, "  hi"), (Pieces{" ", " hi"}));              // \s+(?!\S) leaves one space
  EXPECT_EQ(split(k, "a   "), (Pieces{"a", "   "}));              // trailing run stays whole
  EXPECT_EQ(split(k, "x  \n y"), (Pieces{"x", "  \n", " y"}));    // \s*[\r\n]+
  EXPECT_EQ(split(k, "a\n\nb"), (Pieces{"a", "\n\n", "b"}));
  EXPECT_EQ(split(k, "hi!!!\n\nok"), (Pieces{"hi", "!!!\n\n", "ok"}));
  EXPECT_EQ(split(k, "\t\tx"), (Pieces{"\t", "\tx"}));           // a tab can prefix letters
  EXPECT_EQ(split(k, "...\n/x"), (Pieces{"...\n", "/x"}));
  EXPECT_EQ(split(k, " .x"), (Pieces{" .", "x"}));
  EXPECT_EQ(split(k, "\n\nx"), (Pieces{"\n\n", "x"}));            // CR/LF never prefix letters
  // Combining marks are not letters: the mark is the optional prefix of the next letters.
  EXPECT_EQ(split(k, "e\xCC\x81x"), (Pieces{"e", "\xCC\x81x"}));
  // U+FEFF is not White_Space (HF's onig regex), so it prefixes the letters after it.
  EXPECT_EQ(split(k, "\xEF\xBB\xBF" "BOM"), (Pieces{"\xEF\xBB\xBF" "BOM"}));
  // An invalid byte behaves like any other symbol.
  EXPECT_EQ(split(k, "a\xFF" "b \xFF\xFE"), (Pieces{"a", "\xFF" "b", " \xFF\xFE"}));
}

TEST(PreTokenizer, Qwen2SplitsEveryDigit) {
  EXPECT_EQ(split(PreTokenizer::kQwen2, "x1234"), (Pieces{"x", "1", "2", "3", "4"}));
  EXPECT_EQ(split(PreTokenizer::kQwen2, "I'm  ok"), (Pieces{"I", "'m", " ", " ok"}));
}

TEST(PreTokenizer, O200kCaseAwareWords) {
  const auto k = PreTokenizer::kO200k;
  EXPECT_EQ(split(k, "HTTPServer"), (Pieces{"HTTPServer"}));
  EXPECT_EQ(split(k, "getHTTPResponse"), (Pieces{"get", "HTTPResponse"}));
  EXPECT_EQ(split(k, "iPhone"), (Pieces{"i", "Phone"}));
  // First alternative fails on all-caps (no lowercase); the second takes it with the contraction.
  EXPECT_EQ(split(k, "DON'T they're"), (Pieces{"DON'T", " they're"}));
  EXPECT_EQ(split(k, "1234567"), (Pieces{"123", "456", "7"}));
  EXPECT_EQ(split(k, "...\n/x"), (Pieces{"...\n/", "x"}));         // [\r\n/]* takes the slash
  EXPECT_EQ(split(k, "e\xCC\x81x"), (Pieces{"e\xCC\x81x"}));       // marks join words
  EXPECT_EQ(split(k, "\xD7\xA9\xD7\x9C"), (Pieces{"\xD7\xA9\xD7\x9C"}));  // Lo letters
  EXPECT_EQ(split(k, " Hello"), (Pieces{" Hello"}));
}

}  // namespace
}  // namespace kiln::tokenizer
