#pragma once
// Parses lexed tokens into statements. Expression precedence follows Jinja2, lowest first:
// a if b else c; or; and; not; comparisons (== != < <= > >= in, not in, chained);
// + -; ~; * / // %; **; unary - +; then primaries with .attr, [index], [a:b:c], (call),
// | filter and "is test", which bind tighter than any binary operator.
#include <vector>

#include "tokenizer/jinja_ast.h"

namespace kiln::tokenizer::jinja {

// Throws kiln::Error "chat template L:C: ..." for syntax errors, unknown tags, filters or tests.
Body parse(const std::vector<Token>& tokens);

}  // namespace kiln::tokenizer::jinja
