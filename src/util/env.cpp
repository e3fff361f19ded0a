#include "util/env.h"

#include <cstdlib>
#include <string_view>

#include "util/error.h"

namespace kiln {

bool env_switch(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v || std::string_view(v) == "0") return false;
  KILN_CHECK(std::string_view(v) == "1", name, " must be 0 or 1, got '", v, "'");
  return true;
}

}  // namespace kiln
