#include "jit/log.h"

#include <cstdio>

namespace kiln::jit {

void warn_to_stderr(const std::string& message) { std::fprintf(stderr, "kiln: warning: %s\n", message.c_str()); }

}  // namespace kiln::jit
