// kiln run: owned by the issue that builds it; until then it says so and fails.
#include "apps/command.h"
#include "util/error.h"

namespace kiln::apps {

Run add_run(CLI::App& app) {
  app.add_subcommand("run", "(not built yet)");
  return [] () -> int { fail("'run' is not built yet"); };
}

}  // namespace kiln::apps
