// kiln synth: owned by the issue that builds it; until then it says so and fails.
#include "apps/command.h"
#include "util/error.h"

namespace kiln::apps {

Run add_synth(CLI::App& app) {
  app.add_subcommand("synth", "(not built yet)");
  return [] () -> int { fail("'synth' is not built yet"); };
}

}  // namespace kiln::apps
