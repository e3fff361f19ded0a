#include "tokenizer/jinja_lexer.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "util/error.h"

namespace kiln::tokenizer::jinja {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Jinja2 reads "\r\n" and "\r" as "\n" and drops one trailing newline (keep_trailing_newline=False).
std::string normalize_newlines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (std::size_t i = 0; i < source.size(); ++i) {
    if (source[i] != '\r') out += source[i];
    else if (i + 1 < source.size() && source[i + 1] == '\n') continue;  // the '\n' follows
    else out += '\n';
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

void append_utf8(char32_t c, std::string& out) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xc0 | (c >> 6)), out += static_cast<char>(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xe0 | (c >> 12)), out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (c >> 18)), out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f)), out += static_cast<char>(0x80 | (c & 0x3f));
  }
}

class Lexer {
 public:
  explicit Lexer(std::string_view source) : src_(normalize_newlines(source)) {
    line_starts_.push_back(0);
    for (std::size_t i = 0; i < src_.size(); ++i)
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::vector<Token> run() {
    bool line_starting = true;  // the next text begins a line (Jinja2's lstrip condition)
    while (pos_ < src_.size()) {
      std::size_t open = find_tag(pos_);
      std::string text = src_.substr(pos_, open - pos_);
      std::size_t text_pos = pos_;
      if (open == src_.size()) {
        emit(TokenKind::Text, std::move(text), text_pos);
        break;
      }
      char kind = src_[open + 1];
      char control = open + 2 < src_.size() && (src_[open + 2] == '-' || src_[open + 2] == '+') ? src_[open + 2] : 0;
      if (control == '-') {
        while (!text.empty() && is_space(text.back())) text.pop_back();
      } else if (control != '+' && kind != '{') {  // lstrip_blocks: block and comment tags only
        std::size_t line_pos = text.rfind('\n') + 1;  // npos + 1 == 0
        bool only_spaces = line_pos < text.size() &&
                           std::all_of(text.begin() + line_pos, text.end(), [](char c) { return is_space(c); });
        if ((line_pos > 0 || line_starting) && only_spaces) text.resize(line_pos);
      }
      if (!text.empty()) emit(TokenKind::Text, std::move(text), text_pos);
      pos_ = open + 2 + (control ? 1 : 0);
      line_starting = kind == '#' ? lex_comment(open) : lex_tag(kind, open);
    }
    emit(TokenKind::Eof, "", src_.size());
    return std::move(tokens_);
  }

 private:
  std::size_t find_tag(std::size_t from) const {
    for (std::size_t i = src_.find('{', from); i != std::string::npos; i = src_.find('{', i + 1))
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    return src_.size();
  }

  SourcePos pos_at(std::size_t offset) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset) - 1;
    return {int(it - line_starts_.begin()) + 1, int(offset - *it) + 1};
  }

  [[noreturn]] void error(std::size_t offset, const std::string& message) const {
    SourcePos p = pos_at(offset);
    fail("chat template ", p.line, ":", p.col, ": ", message);
  }

  Token& emit(TokenKind kind, std::string text, std::size_t offset) {
    tokens_.push_back(Token{kind, std::move(text), pos_at(offset)});
    return tokens_.back();
  }

  // After a closing "%}" or "#}": "-" strips all following space, else trim_blocks drops one
  // newline unless "+" asked to keep it. Returns whether the consumed text ended a line.
  bool after_close(char control, bool trim) {
    std::size_t start = pos_;
    if (control == '-') {
      while (pos_ < src_.size() && is_space(src_[pos_])) ++pos_;
    } else if (trim && control != '+' && pos_ < src_.size() && src_[pos_] == '\n') {
      ++pos_;
    }
    return pos_ > start && src_[pos_ - 1] == '\n';
  }

  bool lex_comment(std::size_t open) {
    std::size_t close = src_.find("#}", pos_);
    if (close == std::string::npos) error(open, "unclosed comment: '{#' has no matching '#}'");
    char control = close > pos_ && (src_[close - 1] == '-' || src_[close - 1] == '+') ? src_[close - 1] : 0;
    pos_ = close + 2;
    return after_close(control, true);
  }

  bool lex_tag(char kind, std::size_t open) {
    bool block = kind == '%';
    emit(block ? TokenKind::BlockBegin : TokenKind::VarBegin, block ? "{%" : "{{", open);
    std::string closer = block ? "%}" : "}}";
    std::vector<char> brackets;
    while (true) {
      while (pos_ < src_.size() && is_space(src_[pos_])) ++pos_;
      if (pos_ >= src_.size())
        error(open, "unclosed tag: '" + std::string(1, '{') + kind + "' has no matching '" + closer + "'");
      if (brackets.empty()) {
        char control = src_[pos_] == '-' || (block && src_[pos_] == '+') ? src_[pos_] : 0;
        if (src_.compare(pos_ + (control ? 1 : 0), 2, closer) == 0) {
          emit(block ? TokenKind::BlockEnd : TokenKind::VarEnd, closer, pos_);
          pos_ += 2 + (control ? 1 : 0);
          return after_close(control, block);
        }
      }
      lex_token(brackets);
    }
  }

  void lex_token(std::vector<char>& brackets) {
    std::size_t start = pos_;
    char c = src_[pos_];
    if (is_name_start(c)) {
      while (pos_ < src_.size() && (is_name_start(src_[pos_]) || is_digit(src_[pos_]))) ++pos_;
      emit(TokenKind::Name, src_.substr(start, pos_ - start), start);
    } else if (is_digit(c)) {
      lex_number();
    } else if (c == '\'' || c == '"') {
      lex_string();
    } else {
      static const char* const kOps[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~",
                                         "<", ">", "=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|"};
      for (const char* op : kOps) {
        std::size_t n = std::char_traits<char>::length(op);
        if (src_.compare(pos_, n, op) != 0) continue;
        if (n == 1 && std::string_view("([{").find(c) != std::string_view::npos) brackets.push_back(c);
        if (n == 1 && std::string_view(")]}").find(c) != std::string_view::npos) {
          char expected = brackets.empty() ? 0 : brackets.back() == '(' ? ')' : brackets.back() == '[' ? ']' : '}';
          if (expected != c) error(pos_, std::string("unexpected '") + c + "'");
          brackets.pop_back();
        }
        pos_ += n;
        emit(TokenKind::Op, op, start);
        return;
      }
      error(pos_, std::string("unexpected character '") + c + "' in a tag");
    }
  }

  void lex_number() {
    std::size_t start = pos_;
    while (pos_ < src_.size() && is_digit(src_[pos_])) ++pos_;
    bool is_float = false;
    if (pos_ + 1 < src_.size() && src_[pos_] == '.' && is_digit(src_[pos_ + 1])) {
      is_float = true;
      for (++pos_; pos_ < src_.size() && is_digit(src_[pos_]);) ++pos_;
    }
    if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      std::size_t p = pos_ + 1;
      if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
      if (p < src_.size() && is_digit(src_[p])) {
        is_float = true;
        for (pos_ = p; pos_ < src_.size() && is_digit(src_[pos_]);) ++pos_;
      }
    }
    std::string text = src_.substr(start, pos_ - start);
    Token& t = emit(is_float ? TokenKind::Float : TokenKind::Int, text, start);
    if (is_float) {
      t.float_value = std::strtod(text.c_str(), nullptr);
    } else {
      errno = 0;
      t.int_value = std::strtoll(text.c_str(), nullptr, 10);
      if (errno == ERANGE) error(start, "integer literal " + text + " does not fit in 64 bits");
    }
  }

  // Python string escapes: \n \t \r \\ \' \" \b \f \v \a, octal, \xhh, \uhhhh, \Uhhhhhhhh;
  // an unknown escape keeps its backslash.
  void lex_string() {
    std::size_t start = pos_;
    char quote = src_[pos_++];
    std::string value;
    while (true) {
      if (pos_ >= src_.size()) error(start, "unclosed string literal");
      char c = src_[pos_++];
      if (c == quote) break;
      if (c != '\\' || pos_ >= src_.size()) {
        value += c;
        continue;
      }
      char e = src_[pos_++];
      switch (e) {
        case 'n': value += '\n'; break;
        case 't': value += '\t'; break;
        case 'r': value += '\r'; break;
        case 'b': value += '\b'; break;
        case 'f': value += '\f'; break;
        case 'v': value += '\v'; break;
        case 'a': value += '\a'; break;
        case '\\': case '\'': case '"': value += e; break;
        case '\n': break;  // line continuation
        case 'x': case 'u': case 'U': {
          std::size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          std::string hex = src_.substr(pos_, digits);
          if (hex.size() != digits || !std::all_of(hex.begin(), hex.end(), [](char h) { return std::isxdigit(h); }))
            error(pos_ - 2, std::string("truncated \\") + e + " escape in a string literal");
          append_utf8(static_cast<char32_t>(std::strtoul(hex.c_str(), nullptr, 16)), value);
          pos_ += digits;
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            unsigned code = e - '0';
            for (int k = 0; k < 2 && pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '7'; ++k)
              code = code * 8 + (src_[pos_++] - '0');
            append_utf8(code, value);
          } else {
            value += '\\', value += e;
          }
      }
    }
    emit(TokenKind::String, std::move(value), start);
  }

  std::string src_;
  std::size_t pos_ = 0;
  std::vector<std::size_t> line_starts_;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> lex(std::string_view source) { return Lexer(source).run(); }

}  // namespace kiln::tokenizer::jinja
