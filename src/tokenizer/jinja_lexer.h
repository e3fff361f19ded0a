#pragma once
// Splits a Jinja template into text and tag tokens, applying whitespace control the way HF
// configures Jinja2: trim_blocks (drop the newline after a block or comment tag), lstrip_blocks
// (drop spaces before a block or comment tag that starts its line), "-" strips every space on
// that side, "+" keeps them. Comments are dropped here.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::tokenizer::jinja {

struct SourcePos {
  int line = 1, col = 1;
};

enum class TokenKind { Text, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, Eof };

struct Token {
  TokenKind kind;
  std::string text;  // text, name, operator, or the decoded string literal
  SourcePos pos;
  std::int64_t int_value = 0;
  double float_value = 0;
};

// Throws kiln::Error naming line:col for an unclosed tag, comment or string, or a stray character.
std::vector<Token> lex(std::string_view source);

}  // namespace kiln::tokenizer::jinja
