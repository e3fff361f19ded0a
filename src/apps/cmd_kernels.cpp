// kiln kernels: owned by the issue that builds it; until then it says so and fails.
#include "apps/command.h"
#include "util/error.h"

namespace kiln::apps {

Run add_kernels(CLI::App& app) {
  app.add_subcommand("kernels", "(not built yet)");
  return [] () -> int { fail("'kernels' is not built yet"); };
}

}  // namespace kiln::apps
