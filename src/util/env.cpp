#include "util/env.h"

#include <cerrno>
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

int env_int(const char* name, int fallback, int lo, int hi) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  errno = 0;
  const long x = std::strtol(v, &end, 10);
  KILN_CHECK(*end == '\0' && errno == 0 && x >= lo && x <= hi, name, " must be an integer in ", lo, "..", hi,
             ", got '", v, "'");
  return int(x);
}

}  // namespace kiln
