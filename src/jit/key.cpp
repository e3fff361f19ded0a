#include "jit/key.h"

#include <cstdlib>

#include "util/error.h"

namespace kiln::jit {

std::string KernelKey::str() const {
  std::string out = kernel + "<";
  for (size_t i = 0; i < constants.size(); ++i) {
    if (i) out += ",";
    out += constants[i].name + "=" + std::to_string(constants[i].value);
  }
  return out + ">";
}

std::string KernelKey::name_expression() const {
  std::string out = kernel + "<";
  for (size_t i = 0; i < constants.size(); ++i) {
    if (i) out += ",";
    out += std::to_string(constants[i].value);
  }
  return out + ">";
}

KernelKey KernelKey::generic() const {
  KernelKey out = *this;
  for (auto& c : out.constants)
    if (c.kind == ConstKind::shape) c.value = 0;
  return out;
}

int64_t KernelKey::get(std::string_view name) const {
  for (const auto& c : constants)
    if (c.name == name) return c.value;
  fail(str(), ": has no constant '", name, "'");
}

std::string_view mode_name(Mode mode) { return mode == Mode::generic ? "generic" : "specialized"; }

Mode parse_mode(std::string_view text) {
  if (text == "specialized") return Mode::specialized;
  if (text == "generic") return Mode::generic;
  fail("unknown JIT mode '", text, "': expected 'specialized' or 'generic'");
}

Mode mode_from_env() {
  const char* env = std::getenv("KILN_JIT");
  if (!env || !*env) return Mode::specialized;
  try {
    return parse_mode(env);
  } catch (const Error& e) {
    fail("KILN_JIT: ", e.what());
  }
}

}  // namespace kiln::jit
