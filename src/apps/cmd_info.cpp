// kiln info: owned by the issue that builds it; until then it says so and fails.
#include "apps/command.h"
#include "util/error.h"

namespace kiln::apps {

Run add_info(CLI::App& app) {
  app.add_subcommand("info", "(not built yet)");
  return [] () -> int { fail("'info' is not built yet"); };
}

}  // namespace kiln::apps
