// kiln: the command line. Thin: each subcommand lives in its own cmd_<name>.cpp.
#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "apps/command.h"
#include "util/error.h"

int main(int argc, char** argv) {
  using namespace kiln::apps;
  CLI::App app{"kiln: an LLM inference engine whose GPU kernels are compiled for the model's shapes"};
  app.require_subcommand(1);
  std::vector<Run> runs;
  for (auto add : {add_bench, add_run, add_synth, add_info, add_logits, add_tokenize, add_kernels})
    runs.push_back(add(app));
  // llama-bench spells some long options with one dash (-ub, -fa, -ctk, -ctv); CLI11 takes one-dash names
  // of one letter only, so they are rewritten to their long forms first.
  std::vector<std::string> args(argv + 1, argv + argc);
  for (auto& a : args) {
    if (a == "-ub") a = "--ubatch-size";
    else if (a == "-fa") a = "--flash-attn";
    else if (a == "-ctk") a = "--cache-type-k";
    else if (a == "-ctv") a = "--cache-type-v";
  }
  std::reverse(args.begin(), args.end());  // CLI11 takes the arguments last-first
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    // get_subcommands({}) lists every subcommand in registration order, the order of `runs`.
    auto all = app.get_subcommands({});
    for (size_t i = 0; i < all.size(); ++i)
      if (all[i]->parsed()) return runs[i]();
    return 1;
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "kiln: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "kiln: out of host memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kiln: internal error: %s\n", e.what());
    return 2;
  }
}
