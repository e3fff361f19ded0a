#pragma once
// The parsed template: expressions and statements as plain tagged nodes. Each kind's operand
// layout is listed next to it; the parser builds them and the evaluator walks them.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja_lexer.h"
#include "tokenizer/jinja_value.h"

namespace kiln::tokenizer::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    Literal,  // literal
    Name,     // name = variable
    Attr,     // args {object}, name = attribute
    Index,    // args {object, key}
    Slice,    // args {object, start, stop, step}, each may be null
    Call,     // args {callee, positional...} + kwargs
    Filter,   // args {operand, positional...} + kwargs, name = filter
    Test,     // args {operand, positional...}, name = test, negated for "is not"
    Unary,    // args {operand}, name = "not" | "-" | "+"
    Binary,   // args {left, right}, name = "+" "-" "*" "/" "//" "%" "**" "~" "and" "or"
    Compare,  // args {a, b, c...}, ops between them: "==" "!=" "<" "<=" ">" ">=" "in" "not in"
    Cond,     // args {then, condition, otherwise (may be null)}
    List,     // args = elements
    Dict,     // args = key, value, key, value...
  };
  Kind kind;
  SourcePos pos;
  std::string name;
  Json literal;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;
  bool negated = false;
};

struct Stmt;
using Body = std::vector<std::unique_ptr<Stmt>>;

struct Stmt {
  enum class Kind {
    Text,      // text
    Output,    // exprs {value}
    If,        // exprs = one condition per branch, bodies = one per branch (+ else body)
    For,       // names = loop variables, exprs {iterable, filter or null}, bodies {body, else}
    Set,       // names {variable} or {namespace, attribute}, exprs {value}
    SetBlock,  // names {variable}, bodies {body}: {% set x %}...{% endset %}
    Macro,     // names {macro, params...}, exprs = one default per param (may be null), bodies {body}
    Break,
    Continue,
  };
  Kind kind;
  SourcePos pos;
  std::string text;
  std::vector<std::string> names;
  std::vector<ExprPtr> exprs;
  std::vector<Body> bodies;
};

}  // namespace kiln::tokenizer::jinja
