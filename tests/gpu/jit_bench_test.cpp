// Measurements, not checks (beyond sanity): q8_0 mat-vec bandwidth, and how long the kernel
// set takes to compile cold, to load warm from disk, and to look up from memory.
// The quick part always runs on a GPU; KILN_BENCH=1 adds the tuning sweep and the load times.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "jit/builtin_kernels.h"
#include "jit/preset_kernels.h"
#include "jit_gpu_util.h"
#include "kernels/matvec_q8_0_params.h"
#include "kernels/rmsnorm_params.h"

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

// Device time of one launch: the median over batches of 20 back-to-back launches (as a CUDA
// graph would issue them), rotating over enough weight copies that L2 (50 MB on an H100) never
// holds a launch's weights from the one before. The first copy's result is checked against a
// CPU reference (tolerance as in jit_matvec_q8_0_test.cpp) unless the matrix is huge.
struct MatvecTiming {
  double us = 0, gb_per_s = 0;
};

MatvecTiming time_matvec(Library& library, const KernelKey& key, int n_rows, int n_cols, bool x_f16) {
  const size_t w_bytes = static_cast<size_t>(n_rows) * (n_cols / 32) * 34;
  const int copies = static_cast<int>(std::clamp<size_t>((256u << 20) / w_bytes + 1, 2, 1024));
  DeviceBytes w(w_bytes * copies), x(static_cast<size_t>(n_cols) * 4), y(static_cast<size_t>(n_rows) * 4);
  std::vector<uint8_t> host(w_bytes);
  std::vector<float> xs(n_cols);
  {
    uint64_t state = 0x9e3779b97f4a7c15ull ^ w_bytes;
    for (size_t i = 0; i < host.size(); i += 8) {
      state ^= state << 13, state ^= state >> 7, state ^= state << 17;
      std::memcpy(&host[i], &state, std::min<size_t>(8, host.size() - i));
    }
    for (size_t b = 0; b < host.size(); b += 34) host[b + 1] = 0x20 | (host[b + 1] & 0x83);  // scales ~2^-7, any sign
    for (int c = 0; c < copies; ++c) w.upload(host, c * w_bytes);
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    for (auto& v : xs) v = x_f16 ? f16_to_f32(f32_to_f16(value(rng))) : value(rng);
    if (x_f16) {
      std::vector<uint16_t> bits(n_cols);
      for (int i = 0; i < n_cols; ++i) bits[i] = f32_to_f16(xs[i]);
      x.upload(bits);
    } else {
      x.upload(xs);
    }
  }
  const Kernel& kernel = library.get(key);
  const LaunchDims dims = matvec_q8_0_launch(key, n_rows, n_cols);
  MatvecQ8_0Params p{};
  p.w = w.get();
  p.x = x.get();
  p.y = y.get<float>();
  p.n_rows = n_rows;
  p.n_cols = n_cols;

  if (static_cast<double>(n_rows) * n_cols <= 64e6) {
    y.poison();
    kernel.launch(dims, nullptr, p);
    sync_and_check(kernel.name());
    const std::vector<float> got = y.download<float>(n_rows);
    int bad = 0;
    const int blocks = n_cols / 32;
    for (int r = 0; r < n_rows; ++r) {
      double ref = 0, magnitude = 0;
      for (int b = 0; b < blocks; ++b) {
        const uint8_t* block = &host[(static_cast<size_t>(r) * blocks + b) * 34];
        const double d = f16_to_f32(static_cast<uint16_t>(block[0] | (block[1] << 8)));
        for (int i = 0; i < 32; ++i) {
          const double term = d * static_cast<int8_t>(block[2 + i]) * xs[b * 32 + i];
          ref += term;
          magnitude += std::abs(term);
        }
      }
      if (!(std::abs(got[r] - ref) <= 1e-5 * magnitude) && bad++ < 3)
        ADD_FAILURE() << kernel.name() << " row " << r << ": got " << got[r] << ", expected " << ref;
    }
    EXPECT_EQ(bad, 0) << kernel.name();
  }

  cudaEvent_t start, stop;
  KILN_CUDA_CHECK(cudaEventCreate(&start));
  KILN_CUDA_CHECK(cudaEventCreate(&stop));
  constexpr int kBatch = 20;
  std::vector<float> per_launch_ms;
  int launch = 0;
  for (int batch = 0; batch < 18; ++batch) {
    KILN_CUDA_CHECK(cudaEventRecord(start));
    for (int i = 0; i < kBatch; ++i, ++launch) {
      p.w = w.get<char>((launch % copies) * w_bytes);
      kernel.launch(dims, nullptr, p);
    }
    KILN_CUDA_CHECK(cudaEventRecord(stop));
    KILN_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    KILN_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    if (batch >= 3) per_launch_ms.push_back(ms / kBatch);  // after a warm-up
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  sync_and_check(kernel.name());
  std::sort(per_launch_ms.begin(), per_launch_ms.end());
  MatvecTiming t;
  t.us = per_launch_ms[per_launch_ms.size() / 2] * 1000.0;
  const double bytes = w_bytes + static_cast<double>(n_cols) * (x_f16 ? 2 : 4) + n_rows * 4.0;
  t.gb_per_s = bytes / (t.us * 1e-6) / 1e9;
  return t;
}

double device_copy_gb_per_s() {
  const size_t bytes = size_t{1} << 30;
  DeviceBytes a(bytes), b(bytes);
  cudaEvent_t start, stop;
  KILN_CUDA_CHECK(cudaEventCreate(&start));
  KILN_CUDA_CHECK(cudaEventCreate(&stop));
  KILN_CUDA_CHECK(cudaMemcpy(b.get(), a.get(), bytes, cudaMemcpyDeviceToDevice));
  KILN_CUDA_CHECK(cudaEventRecord(start));
  for (int i = 0; i < 5; ++i) KILN_CUDA_CHECK(cudaMemcpyAsync(b.get(), a.get(), bytes, cudaMemcpyDeviceToDevice));
  KILN_CUDA_CHECK(cudaEventRecord(stop));
  KILN_CUDA_CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  KILN_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return 5.0 * 2 * bytes / (ms * 1e-3) / 1e9;  // read + write
}

struct Shape {
  const char* what;
  int n_rows, n_cols;
};

TEST(JitBench, MatvecBandwidth) {
  KILN_REQUIRE_GPU();
  const int sms = Device::current().sm_count;
  std::printf("[ bench ] device: %s, %d SMs; device-to-device copy %.0f GB/s (read + write)\n",
              Device::current().name.c_str(), sms, device_copy_gb_per_s());
  std::vector<Shape> shapes = {{"llama-8b attn_q", 4096, 4096},  {"llama-8b attn_k", 1024, 4096},
                               {"llama-8b ffn_up", 14336, 4096}, {"llama-8b ffn_down", 4096, 14336},
                               {"qwen2-1.5b attn_k", 256, 1536}, {"gpt-oss attn_q", 4096, 2880},
                               {"llama-8b output", 128256, 4096}};
  if (!full_bench()) shapes.resize(3);
  std::printf("[ bench ] %-20s %-62s %10s %10s %7s\n", "matrix", "key (specialized)", "spec us", "gen us", "GB/s");
  for (const auto& s : shapes) {
    for (bool x_f16 : {false, true}) {
      if (x_f16 && std::string(s.what) != "llama-8b attn_q") continue;
      const KernelKey key = matvec_q8_0_key({.n_rows = s.n_rows, .n_cols = s.n_cols, .x_f16 = x_f16, .sm_count = sms});
      const MatvecTiming spec = time_matvec(library_for(Mode::specialized), key, s.n_rows, s.n_cols, x_f16);
      const MatvecTiming gen = time_matvec(library_for(Mode::generic), key, s.n_rows, s.n_cols, x_f16);
      std::printf("[ bench ] %-20s %-62s %10.2f %10.2f %7.0f (%.0f%% of 3.0 TB/s; generic %.0f GB/s)\n", s.what,
                  key.str().c_str(), spec.us, gen.us, spec.gb_per_s, spec.gb_per_s / 30.0, gen.gb_per_s);
      EXPECT_GT(spec.gb_per_s, 20.0) << key.str();  // sanity only: a broken launch is far below
    }
  }
}

TEST(JitBench, MatvecTuningSweep) {
  KILN_REQUIRE_GPU();
  if (!full_bench()) GTEST_SKIP() << "set KILN_BENCH=1 for the tuning sweep";
  const int sms = Device::current().sm_count;
  const std::vector<Shape> shapes = {{"4096x4096", 4096, 4096}, {"1024x4096", 1024, 4096},
                                     {"14336x4096", 14336, 4096}, {"4096x14336", 4096, 14336},
                                     {"4096x2880", 4096, 2880}};
  auto key = [](const Shape& s, int rows, int threads, int stages) {
    return matvec_q8_0_key({.n_rows = s.n_rows, .n_cols = s.n_cols, .rows_per_block = rows, .threads = threads, .stages = stages});
  };
  std::vector<KernelKey> keys;
  for (const auto& s : shapes)
    for (int rows : {1, 2, 4, 8})
      for (int threads : {64, 128, 256})
        for (int stages : {2, 3, 4}) keys.push_back(key(s, rows, threads, stages));
  library_for(Mode::specialized).prepare(keys);
  for (const auto& s : shapes) {
    const KernelKey chosen = matvec_q8_0_key({.n_rows = s.n_rows, .n_cols = s.n_cols, .sm_count = sms});
    std::printf("[ sweep ] %-11s GB/s, rows_per_block x (threads/stages); heuristic: rows %lld, threads %lld, stages %lld\n",
                s.what, static_cast<long long>(chosen.get("rows_per_block")), static_cast<long long>(chosen.get("threads")),
                static_cast<long long>(chosen.get("stages")));
    std::printf("[ sweep ]           %s\n", "64/2   64/3   64/4  128/2  128/3  128/4  256/2  256/3  256/4");
    for (int rows : {1, 2, 4, 8}) {
      std::printf("[ sweep ]   rows %d:", rows);
      for (int threads : {64, 128, 256})
        for (int stages : {2, 3, 4})
          std::printf(" %6.0f", time_matvec(library_for(Mode::specialized), key(s, rows, threads, stages), s.n_rows, s.n_cols, false).gb_per_s);
      std::printf("\n");
    }
  }
}

TEST(JitBench, LoadTimes) {
  KILN_REQUIRE_GPU();
  if (!full_bench()) GTEST_SKIP() << "set KILN_BENCH=1 for load-time measurements";
  const std::vector<KernelKey> keys = all_variants(Device::current().sm_count);
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
  const KernelKey key = rmsnorm_key({.n_embd = 4096});
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
