#include "tokenizer/jinja_parser.h"

#include <algorithm>
#include <initializer_list>
#include <string_view>

#include "tokenizer/jinja_builtins.h"
#include "util/error.h"

namespace kiln::tokenizer::jinja {
namespace {

// Nesting deeper than this is refused, so the recursive parser cannot overflow the stack.
constexpr int kMaxNesting = 256;

class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : tokens_(tokens) {}

  Body parse_template() {
    std::string end;
    return parse_body({}, &end, nullptr);
  }

 private:
  // ---- token stream ----
  const Token& peek(std::size_t ahead = 0) const { return tokens_[std::min(i_ + ahead, tokens_.size() - 1)]; }
  const Token& next() { return tokens_[i_ < tokens_.size() - 1 ? i_++ : i_]; }
  bool is_op(std::string_view op, std::size_t ahead = 0) const {
    return peek(ahead).kind == TokenKind::Op && peek(ahead).text == op;
  }
  bool is_name(std::string_view name, std::size_t ahead = 0) const {
    return peek(ahead).kind == TokenKind::Name && peek(ahead).text == name;
  }
  bool skip_op(std::string_view op) { return is_op(op) ? (next(), true) : false; }
  bool skip_name(std::string_view name) { return is_name(name) ? (next(), true) : false; }

  [[noreturn]] void error(const Token& at, const std::string& message) const {
    fail("chat template ", at.pos.line, ":", at.pos.col, ": ", message);
  }
  static std::string where(const Token& t) { return std::to_string(t.pos.line) + ":" + std::to_string(t.pos.col); }
  static std::string describe(const Token& t) {
    switch (t.kind) {
      case TokenKind::Eof: return "end of template";
      case TokenKind::BlockEnd: return "'%}'";
      case TokenKind::VarEnd: return "'}}'";
      case TokenKind::String: return "a string";
      case TokenKind::Text: return "template text";
      default: return "'" + t.text + "'";
    }
  }
  void expect_op(std::string_view op) {
    if (!skip_op(op)) error(peek(), "expected '" + std::string(op) + "', got " + describe(peek()));
  }
  std::string expect_name() {
    if (peek().kind != TokenKind::Name) error(peek(), "expected a name, got " + describe(peek()));
    return next().text;
  }
  void expect_block_end() {
    if (peek().kind != TokenKind::BlockEnd) error(peek(), "expected '%}', got " + describe(peek()));
    next();
  }

  // ---- statements ----

  // Parses until a block tag named in `ends`; leaves the stream after that tag's name.
  // `opener` is the tag whose block this is, for the error when the template ends first.
  Body parse_body(std::initializer_list<std::string_view> ends, std::string* end, const Token* opener) {
    Nested guard(this, opener ? *opener : peek());
    Body body;
    while (true) {
      const Token& t = next();
      switch (t.kind) {
        case TokenKind::Eof:
          if (ends.size() == 0) return body;
          error(*opener, "'" + opener->text + "' is never closed: the template ends before '" +
                             std::string(*(ends.end() - 1)) + "'");
        case TokenKind::Text: {
          auto s = stmt(Stmt::Kind::Text, t);
          s->text = t.text;
          body.push_back(std::move(s));
          break;
        }
        case TokenKind::VarBegin: {
          auto s = stmt(Stmt::Kind::Output, t);
          s->exprs.push_back(parse_expression());
          if (peek().kind != TokenKind::VarEnd) error(peek(), "expected '}}', got " + describe(peek()));
          next();
          body.push_back(std::move(s));
          break;
        }
        case TokenKind::BlockBegin: {
          const Token& name = peek();
          if (name.kind != TokenKind::Name) error(name, "expected a tag name, got " + describe(name));
          for (std::string_view e : ends) {
            if (name.text != e) continue;
            *end = next().text;
            return body;
          }
          bool closes = name.text.rfind("end", 0) == 0 || name.text == "elif" || name.text == "else";
          if (closes && opener)
            error(name, "unexpected '" + name.text + "': the '" + opener->text + "' at " + where(*opener) +
                            " must first be closed by '" + std::string(*(ends.end() - 1)) + "'");
          body.push_back(parse_statement());
          break;
        }
        default: error(t, "unexpected " + describe(t));
      }
    }
  }

  std::unique_ptr<Stmt> stmt(Stmt::Kind kind, const Token& at) {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->pos = at.pos;
    return s;
  }

  std::unique_ptr<Stmt> parse_statement() {
    const Token& tag = next();
    const std::string& name = tag.text;
    std::string end;
    if (name == "if") {
      auto s = stmt(Stmt::Kind::If, tag);
      s->exprs.push_back(parse_expression());
      while (true) {
        expect_block_end();
        s->bodies.push_back(parse_body({"elif", "else", "endif"}, &end, &tag));
        if (end == "elif") {
          s->exprs.push_back(parse_expression());
        } else if (end == "else") {
          expect_block_end();
          s->bodies.push_back(parse_body({"endif"}, &end, &tag));
          break;
        } else {
          break;
        }
      }
      expect_block_end();
      return s;
    }
    if (name == "for") {
      auto s = stmt(Stmt::Kind::For, tag);
      bool parens = skip_op("(");
      do s->names.push_back(expect_name());
      while (skip_op(","));
      if (parens) expect_op(")");
      if (!skip_name("in")) error(peek(), "expected 'in' in a for tag, got " + describe(peek()));
      s->exprs.push_back(parse_binary(0));  // no inline if here: "if" starts the loop filter
      s->exprs.push_back(skip_name("if") ? parse_expression() : nullptr);
      if (is_name("recursive")) error(peek(), "recursive for loops are not supported");
      expect_block_end();
      s->bodies.push_back(parse_body({"else", "endfor"}, &end, &tag));
      if (end == "else") {
        expect_block_end();
        s->bodies.push_back(parse_body({"endfor"}, &end, &tag));
      } else {
        s->bodies.emplace_back();
      }
      expect_block_end();
      return s;
    }
    if (name == "set") {
      auto s = stmt(Stmt::Kind::Set, tag);
      s->names.push_back(expect_name());
      if (skip_op(".")) s->names.push_back(expect_name());
      if (is_op(",")) error(peek(), "tuple assignment in set is not supported");
      if (skip_op("=")) {
        s->exprs.push_back(parse_expression());
        expect_block_end();
        return s;
      }
      if (s->names.size() != 1) error(peek(), "expected '=' after a namespace attribute in set");
      expect_block_end();
      s->kind = Stmt::Kind::SetBlock;
      s->bodies.push_back(parse_body({"endset"}, &end, &tag));
      expect_block_end();
      return s;
    }
    if (name == "macro") {
      auto s = stmt(Stmt::Kind::Macro, tag);
      s->names.push_back(expect_name());
      expect_op("(");
      while (!skip_op(")")) {
        if (s->names.size() > 1) expect_op(",");
        if (skip_op(")")) break;  // trailing comma
        s->names.push_back(expect_name());
        s->exprs.push_back(skip_op("=") ? parse_expression() : nullptr);
      }
      expect_block_end();
      s->bodies.push_back(parse_body({"endmacro"}, &end, &tag));
      expect_block_end();
      return s;
    }
    if (name == "break" || name == "continue") {
      auto s = stmt(name == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue, tag);
      expect_block_end();
      return s;
    }
    if (name == "generation") {  // HF's assistant-mask marker: renders its body unchanged
      expect_block_end();
      auto s = stmt(Stmt::Kind::If, tag);
      s->exprs.push_back(literal(Json(true), tag));
      s->bodies.push_back(parse_body({"endgeneration"}, &end, &tag));
      expect_block_end();
      return s;
    }
    if (name.rfind("end", 0) == 0 || name == "elif" || name == "else")
      error(tag, "unexpected '" + name + "' with no open block to close");
    error(tag, "unsupported tag '" + name + "'");
  }

  // ---- expressions ----

  ExprPtr node(Expr::Kind kind, const Token& at, std::string name = {}) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->pos = at.pos;
    e->name = std::move(name);
    return e;
  }
  ExprPtr literal(Json value, const Token& at) {
    auto e = node(Expr::Kind::Literal, at);
    e->literal = std::move(value);
    return e;
  }
  ExprPtr binary(const Token& at, std::string op, ExprPtr left, ExprPtr right) {
    auto e = node(Expr::Kind::Binary, at, std::move(op));
    e->args.push_back(std::move(left));
    e->args.push_back(std::move(right));
    return e;
  }

  ExprPtr parse_expression() {
    ExprPtr e = parse_binary(0);
    while (is_name("if")) {
      const Token& at = next();
      auto cond = node(Expr::Kind::Cond, at);
      cond->args.push_back(std::move(e));
      cond->args.push_back(parse_binary(0));
      cond->args.push_back(skip_name("else") ? parse_expression() : nullptr);
      e = std::move(cond);
    }
    return e;
  }

  // Left-associative binary operators by precedence, loosest first. The operands of "and" are
  // "not" and the comparisons (parse_not, parse_compare), whose operands start at kMathLevel.
  static constexpr int kMathLevel = 2;
  ExprPtr parse_binary(int level) {
    static const std::vector<std::vector<std::string_view>> kLevels = {
        {"or"}, {"and"}, {"+", "-"}, {"~"}, {"*", "/", "//", "%"}, {"**"}};
    auto operand = [&] {
      if (level + 1 == kMathLevel) return parse_not();
      return level + 1 == int(kLevels.size()) ? parse_unary(true) : parse_binary(level + 1);
    };
    ExprPtr e = operand();
    while (true) {
      const Token& t = peek();
      const auto& ops = kLevels[level];
      if ((t.kind != TokenKind::Op && t.kind != TokenKind::Name) || std::find(ops.begin(), ops.end(), t.text) == ops.end())
        return e;
      next();
      e = binary(t, t.text, std::move(e), operand());
    }
  }

  ExprPtr parse_not() {
    if (!is_name("not")) return parse_compare();
    Nested guard(this, peek());
    auto e = node(Expr::Kind::Unary, next(), "not");
    e->args.push_back(parse_not());
    return e;
  }

  ExprPtr parse_compare() {
    const Token& at = peek();
    ExprPtr first = parse_binary(kMathLevel);
    ExprPtr cmp;
    while (true) {
      std::string op;
      if (peek().kind == TokenKind::Op && (peek().text == "==" || peek().text == "!=" || peek().text == "<" ||
                                           peek().text == "<=" || peek().text == ">" || peek().text == ">="))
        op = next().text;
      else if (skip_name("in")) op = "in";
      else if (is_name("not") && is_name("in", 1)) next(), next(), op = "not in";
      else break;
      if (!cmp) {
        cmp = node(Expr::Kind::Compare, at);
        cmp->args.push_back(std::move(first));
      }
      cmp->ops.push_back(op);
      cmp->args.push_back(parse_binary(kMathLevel));
    }
    return cmp ? std::move(cmp) : std::move(first);
  }

  ExprPtr parse_unary(bool with_filter) {
    Nested guard(this, peek());
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      const Token& at = next();
      e = node(Expr::Kind::Unary, at, at.text);
      e->args.push_back(parse_unary(false));
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    return with_filter ? parse_filters(std::move(e)) : std::move(e);
  }

  ExprPtr parse_primary() {
    const Token& t = next();
    switch (t.kind) {
      case TokenKind::Name:
        if (t.text == "true" || t.text == "True") return literal(Json(true), t);
        if (t.text == "false" || t.text == "False") return literal(Json(false), t);
        if (t.text == "none" || t.text == "None") return literal(Json(nullptr), t);
        return node(Expr::Kind::Name, t, t.text);
      case TokenKind::String: {
        std::string s = t.text;
        while (peek().kind == TokenKind::String) s += next().text;  // "a" "b" concatenates
        return literal(Json(s), t);
      }
      case TokenKind::Int: return literal(Json(t.int_value), t);
      case TokenKind::Float: return literal(Json(t.float_value), t);
      case TokenKind::Op:
        if (t.text == "(") {
          ExprPtr first = parse_expression();
          if (skip_op(")")) return first;
          auto tuple = node(Expr::Kind::List, t, "tuple");  // a list that remembers it was a tuple
          tuple->args.push_back(std::move(first));
          while (skip_op(",") && !is_op(")")) tuple->args.push_back(parse_expression());
          expect_op(")");
          return tuple;
        }
        if (t.text == "[") {
          auto list = node(Expr::Kind::List, t);
          while (!skip_op("]")) {
            if (!list->args.empty()) expect_op(",");
            if (skip_op("]")) break;
            list->args.push_back(parse_expression());
          }
          return list;
        }
        if (t.text == "{") {
          auto dict = node(Expr::Kind::Dict, t);
          while (!skip_op("}")) {
            if (!dict->args.empty()) expect_op(",");
            if (skip_op("}")) break;
            dict->args.push_back(parse_expression());
            expect_op(":");
            dict->args.push_back(parse_expression());
          }
          return dict;
        }
        [[fallthrough]];
      default: error(t, "unexpected " + describe(t) + " in an expression");
    }
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      if (is_op(".")) {
        const Token& at = next();
        if (peek().kind == TokenKind::Int) {  // x.0 means x[0]
          auto index = node(Expr::Kind::Index, at);
          index->args.push_back(std::move(e));
          index->args.push_back(literal(Json(next().int_value), at));
          e = std::move(index);
        } else {
          auto attr = node(Expr::Kind::Attr, at, expect_name());
          attr->args.push_back(std::move(e));
          e = std::move(attr);
        }
      } else if (is_op("[")) {
        e = parse_subscript(std::move(e));
      } else if (is_op("(")) {
        e = parse_call(std::move(e), Expr::Kind::Call, next());
        e->pos = e->args[0]->pos;  // errors point at what is called, not at '('
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr object) {
    const Token& at = next();  // '['
    ExprPtr parts[3];
    int colons = 0;
    while (!is_op("]")) {
      if (skip_op(":")) {
        if (++colons > 2) error(at, "a slice takes at most two ':'");
      } else {
        if (parts[colons]) error(peek(), "expected ':' or ']' in a subscript, got " + describe(peek()));
        parts[colons] = parse_expression();
      }
    }
    next();
    if (colons == 0 && !parts[0]) error(at, "empty subscript '[]'");
    auto e = node(colons ? Expr::Kind::Slice : Expr::Kind::Index, at);
    e->args.push_back(std::move(object));
    for (int k = 0; k < (colons ? 3 : 1); ++k) e->args.push_back(std::move(parts[k]));
    return e;
  }

  // Parses "(a, b, key=c)" after '(' into a node whose args[0] is `first`.
  ExprPtr parse_call(ExprPtr first, Expr::Kind kind, const Token& at, std::string name = {}) {
    auto e = node(kind, at, std::move(name));
    e->args.push_back(std::move(first));
    bool any = false;
    while (!skip_op(")")) {
      if (any) expect_op(",");
      if (skip_op(")")) break;
      any = true;
      if (peek().kind == TokenKind::Name && is_op("=", 1)) {
        std::string key = next().text;
        next();
        e->kwargs.emplace_back(key, parse_expression());
      } else {
        if (!e->kwargs.empty()) error(peek(), "positional argument after a keyword argument");
        if (is_op("*") || is_op("**")) error(peek(), "*args and **kwargs in calls are not supported");
        e->args.push_back(parse_expression());
      }
    }
    return e;
  }

  ExprPtr parse_filters(ExprPtr e) {
    while (true) {
      if (is_op("|")) {
        next();
        const Token& at = peek();
        std::string name = expect_name();
        if (!is_filter(name)) error(at, "unknown filter '" + name + "'");
        if (is_op("(")) {
          next();
          e = parse_call(std::move(e), Expr::Kind::Filter, at, name);
        } else {
          auto f = node(Expr::Kind::Filter, at, name);
          f->args.push_back(std::move(e));
          e = std::move(f);
        }
      } else if (is_name("is")) {
        next();
        bool negated = skip_name("not");
        const Token& at = peek();
        std::string name = expect_name();
        if (!is_test(name)) error(at, "unknown test '" + name + "'");
        if (is_op("(")) {
          next();
          e = parse_call(std::move(e), Expr::Kind::Test, at, name);
          if (!e->kwargs.empty()) error(at, "tests take no keyword arguments");
        } else {
          auto t = node(Expr::Kind::Test, at, name);
          t->args.push_back(std::move(e));
          // Jinja2 also reads one bare argument: "x is divisibleby 3", "x is sameas none".
          const Token& arg = peek();
          bool starts_value = arg.kind == TokenKind::String || arg.kind == TokenKind::Int ||
                              arg.kind == TokenKind::Float || is_op("[") || is_op("{") ||
                              (arg.kind == TokenKind::Name && arg.text != "else" && arg.text != "or" &&
                               arg.text != "and");
          if (starts_value) {
            if (arg.kind == TokenKind::Name && arg.text == "is") error(arg, "tests cannot be chained with 'is'");
            t->args.push_back(parse_postfix(parse_primary()));
          }
          e = std::move(t);
        }
        e->negated = negated;
      } else if (is_op("(")) {
        e = parse_call(std::move(e), Expr::Kind::Call, next());
      } else {
        return e;
      }
    }
  }

  struct Nested {
    Nested(Parser* p, const Token& at) : parser(p) {
      if (++parser->depth_ > kMaxNesting) parser->error(at, "nesting deeper than " + std::to_string(kMaxNesting));
    }
    ~Nested() { --parser->depth_; }
    Parser* parser;
  };

  const std::vector<Token>& tokens_;
  std::size_t i_ = 0;
  int depth_ = 0;
};

}  // namespace

Body parse(const std::vector<Token>& tokens) { return Parser(tokens).parse_template(); }

}  // namespace kiln::tokenizer::jinja
