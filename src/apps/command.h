#pragma once
// A kiln subcommand: registers its options on the CLI and returns the function that runs it.
#include <CLI/CLI.hpp>
#include <functional>

namespace kiln::apps {

using Run = std::function<int()>;  // returns the process exit code

// One per file in src/apps/: cmd_<name>.cpp.
Run add_synth(CLI::App& app);
Run add_info(CLI::App& app);
Run add_logits(CLI::App& app);
Run add_kernels(CLI::App& app);
Run add_tokenize(CLI::App& app);
Run add_run(CLI::App& app);
Run add_bench(CLI::App& app);

}  // namespace kiln::apps
