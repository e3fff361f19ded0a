#pragma once
// Renders a parsed template. Scoping follows Jinja2: a for-loop iteration and a macro call each
// get their own frame (a `set` inside them is not seen outside), `if` shares its frame, and
// namespace() objects are how a loop carries state out. Globals: raise_exception(msg),
// strftime_now(format), namespace(...), range(...).
#include <cstdint>
#include <optional>
#include <string>

#include "tokenizer/jinja_ast.h"

namespace kiln::tokenizer::jinja {

struct RenderContext {
  Json variables = Json::object();         // the template's top-level names
  std::optional<std::int64_t> now_unix_s;  // strftime_now's clock: unset = local time now, else UTC
};

// Throws kiln::Error "chat template L:C: ..." for anything it cannot render exactly.
std::string render(const Body& body, RenderContext context);

}  // namespace kiln::tokenizer::jinja
