#pragma once
// Options and a report line for the NVRTC compile tests (no GPU needed): an explicit arch, no
// disk cache (every key compiles, so the test sees the compiler), not strict.
#include <algorithm>
#include <cstdio>
#include <string>

#include "jit/library.h"

namespace kiln::jit::testing {

inline LibraryOptions compile_only(const std::string& arch) {
  LibraryOptions options;
  options.arch = arch;
  options.cache_dir = "";
  options.mode = Mode::specialized;  // keys are compiled as given
  options.strict = false;
  return options;
}

inline void print_compile_timing(const LoadSummary& summary) {
  std::printf("[ timing ] %s (NVRTC total %.1f s, %.0f ms per kernel)\n", summary.line().c_str(),
              summary.compile_ms / 1000, summary.compile_ms / std::max(1, summary.needed));
}

}  // namespace kiln::jit::testing
