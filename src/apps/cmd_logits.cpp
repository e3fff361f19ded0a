// kiln logits: owned by the issue that builds it; until then it says so and fails.
#include "apps/command.h"
#include "util/error.h"

namespace kiln::apps {

Run add_logits(CLI::App& app) {
  app.add_subcommand("logits", "(not built yet)");
  return [] () -> int { fail("'logits' is not built yet"); };
}

}  // namespace kiln::apps
