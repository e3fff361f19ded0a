// kiln bench: owned by the issue that builds it; until then it says so and fails.
#include "apps/command.h"
#include "util/error.h"

namespace kiln::apps {

Run add_bench(CLI::App& app) {
  app.add_subcommand("bench", "(not built yet)");
  return [] () -> int { fail("'bench' is not built yet"); };
}

}  // namespace kiln::apps
