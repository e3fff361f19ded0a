// kiln synth: write a random-weight GGUF with a preset's exact keys, tensors, shapes and types
// (shared/presets.md), or list the presets.
//   kiln synth PRESET -o FILE [--layers N] [--vocab V] [--seed S] [--threads T] [--tokenizer DIR]
//   kiln synth --list
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "apps/command.h"
#include "model/synth.h"
#include "tokenizer/hf_import.h"
#include "util/error.h"
#include "util/format.h"

namespace kiln::apps {

namespace {

struct SynthCommandOptions {
  bool list = false;
  std::string preset;
  std::string out_path;
  int layers = 0;
  int vocab = 0;
  uint64_t seed = 1;
  int threads = 0;
  std::string tokenizer_dir;
};

std::string params_text(uint64_t n) {
  char buf[32];
  if (n >= 1000000000) std::snprintf(buf, sizeof buf, "%.2fB", double(n) / 1e9);
  else std::snprintf(buf, sizeof buf, "%.1fM", double(n) / 1e6);
  return buf;
}

int list_presets() {
  std::printf("%-24s %-9s %9s %11s  %s\n", "preset", "arch", "params", "file size", "model");
  const model::SynthOptions defaults;
  for (const model::Preset& p : model::presets()) {
    std::printf("%-24s %-9s %9s %11s  %s\n", p.name.c_str(), p.arch.c_str(),
                params_text(model::synthetic_params(p, defaults)).c_str(),
                gib_text(model::synthetic_file_bytes(p, defaults)).c_str(), p.description.c_str());
  }
  return 0;
}

int run_synth(const SynthCommandOptions& opt) {
  if (opt.list) return list_presets();
  KILN_CHECK(!opt.preset.empty(), "synth: name a preset (kiln synth --list shows them)");
  KILN_CHECK(!opt.out_path.empty(), "synth: give the output file with -o FILE");
  const model::Preset& preset = model::find_preset(opt.preset);
  model::SynthOptions options;
  // The tokenizer's keys replace tokenizer.ggml.model "none"; write_synthetic pads its token
  // list up to the preset's vocabulary, or grows the vocabulary to hold every token.
  if (!opt.tokenizer_dir.empty())
    options.extra_metadata = tokenizer::gguf_metadata_from_hf(opt.tokenizer_dir);
  options.seed = opt.seed;
  options.layers = opt.layers;
  options.vocab = opt.vocab;
  options.threads = opt.threads;
  const bool show_progress = isatty(STDERR_FILENO);
  int last_percent = -1;
  options.progress = [&](uint64_t done, uint64_t total) {
    if (!show_progress || total == 0) return;
    int percent = int(done * 100 / total);
    if (percent == last_percent) return;
    last_percent = percent;
    std::fprintf(stderr, "\rwriting %s: %3d%% of %s", opt.out_path.c_str(), percent,
                 gib_text(total).c_str());
    std::fflush(stderr);
  };
  const auto start = std::chrono::steady_clock::now();
  model::write_synthetic(preset, options, opt.out_path);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (show_progress) std::fprintf(stderr, "\n");
  const uint64_t bytes = model::synthetic_file_bytes(preset, options);
  std::printf("wrote %s: %s, %s in %.1f s (%.2f GiB/s)\n", opt.out_path.c_str(),
              preset.name.c_str(), gib_text(bytes).c_str(), seconds,
              seconds > 0 ? double(bytes) / double(1ull << 30) / seconds : 0.0);
  return 0;
}

}  // namespace

Run add_synth(CLI::App& app) {
  auto opt = std::make_shared<SynthCommandOptions>();
  auto* cmd = app.add_subcommand(
      "synth", "write a random-weight GGUF of a preset's exact shapes (--list shows presets)");
  cmd->add_flag("--list", opt->list, "list the presets: name, arch, parameters, file size");
  cmd->add_option("preset", opt->preset, "preset name, e.g. llama-8b-q8_0");
  cmd->add_option("-o,--output", opt->out_path, "GGUF file to write");
  cmd->add_option("--layers", opt->layers, "number of blocks (default: the preset's)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--vocab", opt->vocab, "vocabulary size (default: the preset's)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", opt->seed, "random seed (same seed, same bytes; default 1)");
  cmd->add_option("--threads", opt->threads, "writer threads (default: $KILN_THREADS or all cores)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--tokenizer", opt->tokenizer_dir,
                  "Hugging Face tokenizer folder (tokenizer.json) whose keys to embed; the vocabulary "
                  "is padded to the preset's, or grown to the tokenizer's");
  return [opt] { return run_synth(*opt); };
}

}  // namespace kiln::apps
