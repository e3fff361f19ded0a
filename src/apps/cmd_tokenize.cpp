// kiln tokenize: owned by the issue that builds it; until then it says so and fails.
#include "apps/command.h"
#include "util/error.h"

namespace kiln::apps {

Run add_tokenize(CLI::App& app) {
  app.add_subcommand("tokenize", "(not built yet)");
  return [] () -> int { fail("'tokenize' is not built yet"); };
}

}  // namespace kiln::apps
