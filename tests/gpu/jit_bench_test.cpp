// Measurements, not checks (beyond sanity), run with KILN_BENCH=1: how long the engine's kernel
// set takes to compile cold, to load warm from disk, and to look up from memory. (The kernels'
// own speed, specialized vs generic: bench/matmul, bench/attention.)
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "engine/kernel_set.h"
#include "jit/builtin_kernels.h"
#include "jit_gpu_util.h"
#include "kernels/rmsnorm_params.h"
#include "model/synth.h"

namespace kiln::jit {
namespace {

using namespace testing;

bool full_bench() {
  const char* env = std::getenv("KILN_BENCH");
  return env && std::string(env) == "1";
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The engine's kernel set for llama-8b, keyed for this device.
std::vector<KernelKey> engine_keys() {
  const model::Preset& preset = model::find_preset("llama-8b-q8_0");
  const model::Model shapes =
      model::shape_only_model(model::arch_traits(preset.arch), model::synthetic_hparams(preset, {}));
  const Device& device = Device::current();
  return engine::engine_kernel_set(shapes, {.target = {device.sm_count, device.cc_major}});
}

TEST(JitBench, LoadTimes) {
  KILN_REQUIRE_GPU();
  if (!full_bench()) GTEST_SKIP() << "set KILN_BENCH=1 for load-time measurements";
  const std::vector<KernelKey> keys = engine_keys();
  TempDir cold1, cold16;
  auto options = [](const std::string& dir, int threads) {
    LibraryOptions o;
    o.mode = Mode::specialized;
    o.cache_dir = dir;
    o.threads = threads;
    o.strict = false;
    return o;
  };
  for (auto [dir, threads] : {std::pair{&cold1, 1}, std::pair{&cold16, 16}}) {
    Library library(options(dir->path(), threads));
    const LoadSummary s = library.prepare(keys);
    std::printf("[ bench ] cold: %s; NVRTC %.0f ms per kernel\n", s.line().c_str(), s.compile_ms / s.compiled);
    EXPECT_EQ(s.compiled, s.needed);
  }
  for (int threads : {1, 16}) {
    Library library(options(cold16.path(), threads));
    const LoadSummary s = library.prepare(keys);
    std::printf("[ bench ] warm: %s\n", s.line().c_str());
    EXPECT_EQ(s.from_disk, s.needed);
  }

  // Memory-cache lookup (what the hot path must not do) vs a launch through a held reference.
  Library library(options(cold16.path(), 16));
  library.prepare(keys);
  const KernelKey key = rmsnorm_key({.n_embd = 4096, .out_f16 = true});  // one of the set's
  const Kernel& kernel = library.get(key);
  const int lookups = 200000;
  auto start = std::chrono::steady_clock::now();
  const Kernel* seen = nullptr;
  for (int i = 0; i < lookups; ++i) seen = &library.get(key);
  const double lookup_ns = seconds_since(start) * 1e9 / lookups;
  EXPECT_EQ(seen, &kernel);

  DeviceBytes x(4096 * 4), w(4096 * 4), out(4096 * 4);
  RmsnormParams p{};
  p.x = x.get<float>();
  p.weight = w.get<float>();
  p.out = out.get();
  p.n_rows = 1;
  p.n_embd = 4096;
  p.eps = 1e-6f;
  const LaunchDims dims = rmsnorm_launch(key, 1);
  for (int i = 0; i < 100; ++i) kernel.launch(dims, nullptr, p);
  sync_and_check(kernel.name());
  // Host time to enqueue, in rounds of 256 launches (well below the launch queue's depth, so
  // the GPU's pace does not leak in), with and without a lookup before each launch.
  double launch_s = 0, lookup_launch_s = 0;
  const int rounds = 40, per_round = 256, launches = rounds * per_round;
  for (int round = 0; round < rounds; ++round) {
    start = std::chrono::steady_clock::now();
    for (int i = 0; i < per_round; ++i) kernel.launch(dims, nullptr, p);
    launch_s += seconds_since(start);
    sync_and_check(kernel.name());
    start = std::chrono::steady_clock::now();
    for (int i = 0; i < per_round; ++i) library.get(key).launch(dims, nullptr, p);
    lookup_launch_s += seconds_since(start);
    sync_and_check(kernel.name());
  }
  const double launch_us = launch_s * 1e6 / launches;
  std::printf("[ bench ] get() + launch: %.2f us host time per launch\n", lookup_launch_s * 1e6 / launches);
  std::printf("[ bench ] memory-cache get(): %.0f ns per lookup; Kernel::launch through a held reference: %.2f us "
              "host time per launch (%d launches queued)\n", lookup_ns, launch_us, launches);
}

}  // namespace
}  // namespace kiln::jit
