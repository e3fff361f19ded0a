// kiln kernels: the on-disk kernel cache (list, stats, clear) and precompiling into it.
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "apps/command.h"
#include "jit/device.h"
#include "jit/disk_cache.h"
#include "jit/library.h"
#include "engine/kernel_set.h"
#include "gguf/gguf.h"
#include "model/model.h"
#include "model/synth.h"
#include "util/error.h"
#include "util/format.h"

namespace kiln::apps {

namespace {

struct KernelsArgs {
  std::string cache_dir = jit::default_cache_dir();
  std::string arch;        // precompile: "" = the device's
  std::string mode;        // precompile: "" = $KILN_JIT
  std::string model_path;  // precompile: the model whose kernel set to build
  std::string preset;      // precompile: or a synth preset's shapes (no file needed)
  int ctx = 4096, ubatch = 512;
  int threads = 0;
  int sm_count = 0;        // 0 = the device's, else 132 (H100)
  std::string cache_type_k = "f16", cache_type_v = "f16";  // precompile: the KV cache types
};

jit::DiskCache open_cache(const KernelsArgs& args) {
  KILN_CHECK(!args.cache_dir.empty(), "no kernel cache directory: set KILN_CACHE_DIR or HOME, or pass --cache-dir");
  return jit::DiskCache(args.cache_dir, jit::warn_to_stderr);
}

int run_list(const KernelsArgs& args) {
  const auto entries = open_cache(args).list();
  for (const auto& e : entries) {
    if (e.valid)
      std::printf("%-9s %10s %4s regs %4s B stack  %s\n", e.arch.c_str(), bytes_text(e.file_bytes).c_str(),
                  e.registers < 0 ? "?" : std::to_string(e.registers).c_str(),
                  e.stack_bytes < 0 ? "?" : std::to_string(e.stack_bytes).c_str(), e.name.c_str());
    else
      std::printf("%-9s %10s  DAMAGED (%s): %s\n", "?", bytes_text(e.file_bytes).c_str(),
                  e.problem.c_str(), e.path.c_str());
  }
  std::printf("%zu entries in %s/kernels\n", entries.size(), args.cache_dir.c_str());
  return 0;
}

int run_stats(const KernelsArgs& args) {
  const auto entries = open_cache(args).list();
  std::map<std::string, std::pair<int, uint64_t>> by_kernel;  // "kernel arch" -> count, bytes
  int damaged = 0;
  uint64_t total = 0;
  for (const auto& e : entries) {
    total += e.file_bytes;
    if (!e.valid) {
      ++damaged;
      continue;
    }
    auto& slot = by_kernel[e.name.substr(0, e.name.find('<')) + " (" + e.arch + ")"];
    ++slot.first;
    slot.second += e.file_bytes;
  }
  std::printf("kernel cache %s/kernels: %zu entries, %s", args.cache_dir.c_str(), entries.size(),
              bytes_text(total).c_str());
  std::printf(damaged ? ", %d damaged (rebuilt when next needed)\n" : "\n", damaged);
  for (const auto& [name, stat] : by_kernel)
    std::printf("  %-28s %5d entries %10s\n", name.c_str(), stat.first, bytes_text(stat.second).c_str());
  return 0;
}

int run_clear(const KernelsArgs& args) {
  const int removed = open_cache(args).clear();
  std::printf("removed %d files from %s/kernels\n", removed, args.cache_dir.c_str());
  return 0;
}

// The kernel set to precompile: the engine's, for a model file or a preset's shapes.
std::vector<jit::KernelKey> precompile_keys(const KernelsArgs& args, int sm_count, int cc_major) {
  KILN_CHECK(args.model_path.empty() != args.preset.empty(),
             "kernels precompile: give a MODEL file or --preset NAME");
  engine::KernelSetOptions options;
  options.n_ctx = args.ctx;
  options.n_ubatch = args.ubatch;
  options.target = {.sm_count = sm_count, .cc_major = cc_major};
  options.kv_types = {engine::parse_kv_type(args.cache_type_k, "--cache-type-k"),
                      engine::parse_kv_type(args.cache_type_v, "--cache-type-v")};
  if (!args.preset.empty()) {
    const model::Preset& preset = model::find_preset(args.preset);
    const model::Model shapes =
        model::shape_only_model(model::arch_traits(preset.arch), model::synthetic_hparams(preset, {}));
    return engine::engine_kernel_set(shapes, options);
  }
  const gguf::File file = gguf::File::open(args.model_path);
  return engine::engine_kernel_set(model::load_model(file), options);
}

int run_precompile(const KernelsArgs& args) {
  jit::LibraryOptions options;
  options.cache_dir = args.cache_dir;
  options.arch = args.arch;
  if (!args.mode.empty()) options.mode = jit::parse_mode(args.mode);
  options.threads = args.threads;
  options.strict = false;
  const bool device = jit::Device::has_device();
  const int sm_count = args.sm_count ? args.sm_count : device ? jit::Device::current().sm_count : 132;
  const int cc_major = !args.arch.empty() ? jit::cc_major_of_arch(args.arch) : device ? jit::Device::current().cc_major : 9;
  jit::Library library(options);
  const jit::LoadSummary summary = library.precompile(precompile_keys(args, sm_count, cc_major));
  std::printf("%s\n", summary.line().c_str());
  return 0;
}

}  // namespace

Run add_kernels(CLI::App& app) {
  auto args = std::make_shared<KernelsArgs>();
  CLI::App* kernels = app.add_subcommand("kernels", "list, precompile or clear the on-disk kernel cache");
  kernels->require_subcommand(1);
  kernels->add_option("--cache-dir", args->cache_dir, "kernel cache directory (default: $KILN_CACHE_DIR or ~/.cache/kiln)");
  CLI::App* list = kernels->add_subcommand(
      "list", "list the cached kernels: arch, size, registers per thread, spill stack, key");
  CLI::App* stats = kernels->add_subcommand("stats", "count the cached kernels and their bytes, per kernel");
  CLI::App* clear = kernels->add_subcommand("clear", "remove every cached kernel");
  CLI::App* precompile = kernels->add_subcommand("precompile", "compile kernels into the cache before a run");
  precompile->add_option("model", args->model_path, "GGUF file whose kernel set to compile");
  precompile->add_option("--preset", args->preset, "or a `kiln synth` preset's shapes (no file needed)");
  precompile->add_option("-c,--ctx-size", args->ctx, "context size the engine will run with");
  precompile->add_option("--ubatch-size", args->ubatch, "prefill micro-batch the engine will run with");
  precompile->add_option("--arch", args->arch, "GPU arch to compile for, e.g. sm_90a (default: the device's)");
  precompile->add_option("--mode", args->mode, "specialized or generic (default: $KILN_JIT or specialized)");
  precompile->add_option("--threads", args->threads, "compile threads (default: $KILN_THREADS or all cores)");
  precompile->add_option("--cache-type-k", args->cache_type_k, "K cache type the engine will run with (also -ctk)");
  precompile->add_option("--cache-type-v", args->cache_type_v, "V cache type the engine will run with (also -ctv)");
  precompile->add_option("--sm-count", args->sm_count, "SM count the tuning heuristics assume (default: the device's, else 132)");
  return [args, list, stats, clear, precompile]() -> int {
    if (list->parsed()) return run_list(*args);
    if (stats->parsed()) return run_stats(*args);
    if (clear->parsed()) return run_clear(*args);
    if (precompile->parsed()) return run_precompile(*args);
    return 1;
  };
}

}  // namespace kiln::apps
