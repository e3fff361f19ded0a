// Micro-benchmark of the q8r matrix kernels at llama-8b's shapes (M = 512 prefill GEMM, M = 1 and
// 8 decode mat-vec), specialized vs generic, wgmma vs mma.sync, on random data. Each variant:
// 3 warm-up launches, then `reps` batches of 10 back-to-back launches timed with events, cycling through enough
// weight copies that the working set exceeds L2 (the mat-vec must stream from DRAM); the median
// is reported with min and max. Prints one table row per variant; build with build.sh.
//   bench_matmul [reps] [-v]   (KILN_CACHE_DIR as usual; prints the cubin of each key with -v)
// Environment: BENCH_FILTER (variant label substring), BENCH_SHAPE (one shape), BENCH_COPIES
// (weight copies), BENCH_STAGES (extra wgmma variants at these depths).
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/matmul.h"
#include "jit/cuda_check.h"
#include "jit/device.h"
#include "jit/library.h"

using namespace kiln;
using namespace kiln::engine;

namespace {

struct Buffer {
  void* ptr = nullptr;
  explicit Buffer(size_t bytes) { KILN_CUDA_CHECK(cudaMalloc(&ptr, bytes)); }
  ~Buffer() { cudaFree(ptr); }
};

// Random bytes (xorshift), uploaded.
void fill_random(void* dev, size_t bytes, uint64_t seed) {
  std::vector<uint64_t> host((bytes + 7) / 8);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& v : host) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    v = x;
  }
  KILN_CUDA_CHECK(cudaMemcpy(dev, host.data(), bytes, cudaMemcpyHostToDevice));
}

// f16 values in [-1, 1) for activations; f16 scales in [0.002, 0.02) for weights.
void fill_f16(void* dev, size_t count, float lo, float hi, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<uint16_t> host(count);
  for (auto& h : host) {
    const float f = dist(rng);
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    // truncation to f16 is fine for benchmark data (normal range only)
    const uint32_t sign = (bits >> 16) & 0x8000u, e = (bits >> 23) & 0xff, m = bits & 0x7fffffu;
    h = static_cast<uint16_t>(e < 103 ? sign : sign | ((e - 112) << 10) | (m >> 13));
  }
  KILN_CUDA_CHECK(cudaMemcpy(dev, host.data(), count * 2, cudaMemcpyHostToDevice));
}

struct Weights {
  std::unique_ptr<Buffer> qs, d;
};

struct Named {
  const char* name;
  MatmulShape shape;
};

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 30;
  const bool verbose = argc > 2 && std::string(argv[2]) == "-v";
  try {
    const jit::Device& dev = jit::Device::current();
    std::printf("device: %s, %d SMs, L2 %zu MB\n", dev.name.c_str(), dev.sm_count, dev.l2_bytes >> 20);
    const MatmulTarget target{dev.sm_count, dev.cc_major};
    jit::LibraryOptions opt_spec, opt_gen;
    opt_spec.mode = jit::Mode::specialized;
    opt_gen.mode = jit::Mode::generic;
    jit::Library lib_spec(opt_spec), lib_gen(opt_gen);

    const Named shapes[] = {
        {"qkv", {6144, 4096, MatmulOut::f16, MatmulAct::none, false}},
        {"o", {4096, 4096, MatmulOut::add_f32, MatmulAct::none, false}},
        {"gate+up", {14336, 4096, MatmulOut::gated_f16, MatmulAct::silu, false}},
        {"down", {4096, 14336, MatmulOut::add_f32, MatmulAct::none, false}},
        {"lm_head", {128256, 4096, MatmulOut::f32, MatmulAct::none, false}},
        // qwen2-1.5b and qwen2-7b layers (BENCH_QWEN=1 adds them)
        {"q1.5 qkv", {2048, 1536, MatmulOut::f16, MatmulAct::none, true}},
        {"q1.5 o", {1536, 1536, MatmulOut::add_f32, MatmulAct::none, false}},
        {"q1.5 gate+up", {8960, 1536, MatmulOut::gated_f16, MatmulAct::silu, false}},
        {"q1.5 down", {1536, 8960, MatmulOut::add_f32, MatmulAct::none, false}},
        {"q7 qkv", {4608, 3584, MatmulOut::f16, MatmulAct::none, true}},
        {"q7 o", {3584, 3584, MatmulOut::add_f32, MatmulAct::none, false}},
        {"q7 gate+up", {18944, 3584, MatmulOut::gated_f16, MatmulAct::silu, false}},
        {"q7 down", {3584, 18944, MatmulOut::add_f32, MatmulAct::none, false}},
    };
    const bool with_qwen = std::getenv("BENCH_QWEN") && std::string(std::getenv("BENCH_QWEN")) == "1";
    auto shape_wanted = [&](const Named& s) { return with_qwen || s.name[0] != 'q'; };

    struct Variant {
      const char* label;
      int m;
      jit::Mode mode;
      MatmulTuning tuning;
    };
    std::vector<Variant> variants;
    auto gemm = [](int wgmma, int tile_m, int noinc, int stages) {
      MatmulTuning t;
      t.wgmma = wgmma;
      t.tile_m = tile_m;
      t.noinc = noinc;
      t.stages = stages;
      return t;
    };
    auto matvec = [](int warps, int unroll) {  // matvec_q8r (blocks); 0 = its defaults
      MatmulTuning t;
      t.stream = 0;
      t.warps = warps;
      t.unroll = unroll;
      return t;
    };
    variants.push_back({"gemm spec", 512, jit::Mode::specialized, {}});
    variants.push_back({"gemm generic", 512, jit::Mode::generic, {}});
    variants.push_back({"gemm spec cp.async", 512, jit::Mode::specialized, [] { MatmulTuning t; t.tma = 0; return t; }()});
    variants.push_back({"gemm spec cp.async noinc=0", 512, jit::Mode::specialized, [] { MatmulTuning t; t.tma = 0; t.noinc = 0; return t; }()});
    auto clustered = [](int cluster) {
      MatmulTuning t;
      t.cluster = cluster;
      return t;
    };
    variants.push_back({"gemm spec cluster=1", 512, jit::Mode::specialized, clustered(1)});
    variants.push_back({"gemm spec cluster=2", 512, jit::Mode::specialized, clustered(2)});
    variants.push_back({"gemm spec cluster=4", 512, jit::Mode::specialized, clustered(4)});
    variants.push_back({"gemm spec tile_m=256", 512, jit::Mode::specialized, gemm(1, 256, 1, 0)});
    variants.push_back({"gemm spec tile_m=128", 512, jit::Mode::specialized, gemm(1, 128, 1, 0)});
    variants.push_back({"gemm mma.sync spec", 512, jit::Mode::specialized, gemm(0, 0, 0, 0)});
    variants.push_back({"matvec spec", 1, jit::Mode::specialized, {}});
    variants.push_back({"matvec generic", 1, jit::Mode::generic, {}});
    variants.push_back({"matvec blocks spec", 1, jit::Mode::specialized, matvec(0, 0)});
    variants.push_back({"matvec blocks generic", 1, jit::Mode::generic, matvec(0, 0)});
    variants.push_back({"matvec blocks spec w8 u4", 1, jit::Mode::specialized, matvec(8, 4)});
    variants.push_back({"matvec blocks spec w4 u4", 1, jit::Mode::specialized, matvec(4, 4)});
    auto stream = [](int chunk, int stages) {
      MatmulTuning t;
      t.chunk = chunk;
      t.stream_stages = stages;
      return t;
    };
    variants.push_back({"matvec stream c1024 s4", 1, jit::Mode::specialized, stream(1024, 4)});
    variants.push_back({"matvec stream c4096 s2", 1, jit::Mode::specialized, stream(4096, 2)});
    variants.push_back({"matvec spec m=8", 8, jit::Mode::specialized, {}});
    variants.push_back({"matvec generic m=8", 8, jit::Mode::generic, {}});
    variants.push_back({"matvec blocks spec m=8", 8, jit::Mode::specialized, matvec(0, 0)});
    // BENCH_STAGES=a,b,...: the default tiles at other pipeline depths.
    if (const char* list = std::getenv("BENCH_STAGES")) {
      static std::vector<std::string> labels;
      for (const char* at = list; *at;) {
        const int stages = std::atoi(at);
        labels.push_back("gemm spec stages=" + std::to_string(stages));
        while (*at && *at != ',') ++at;
        if (*at == ',') ++at;
      }
      int i = 0;
      for (const char* at = list; *at; ++i) {
        variants.push_back({labels[i].c_str(), 512, jit::Mode::specialized, gemm(1, 0, 1, std::atoi(at))});
        while (*at && *at != ',') ++at;
        if (*at == ',') ++at;
      }
    }
    if (const char* filter = std::getenv("BENCH_FILTER")) {
      std::vector<Variant> kept;
      for (const Variant& v : variants)
        if (std::string(v.label).find(filter) != std::string::npos) kept.push_back(v);
      variants = kept;
    }

    // Compile everything first (parallel), so no timing includes NVRTC.
    std::vector<jit::KernelKey> keys_spec, keys_gen;
    for (const Named& s : shapes)
      for (const Variant& v : variants)
        if (shape_wanted(s))
        (v.mode == jit::Mode::generic ? keys_gen : keys_spec).push_back(matmul_key(s.shape, v.m, target, v.tuning));
    std::printf("%s\n", lib_spec.prepare(keys_spec).line().c_str());
    std::printf("%s\n", lib_gen.prepare(keys_gen).line().c_str());

    const int max_m = 512;
    int max_k = 0;
    for (const Named& s : shapes) max_k = std::max(max_k, s.shape.k);
    Buffer a(static_cast<size_t>(max_m) * max_k * 2);
    fill_f16(a.ptr, static_cast<size_t>(max_m) * max_k, -1.0f, 1.0f, 1);
    Buffer out(static_cast<size_t>(max_m) * 128256 * 4);
    KILN_CUDA_CHECK(cudaMemset(out.ptr, 0, static_cast<size_t>(max_m) * 128256 * 4));
    Buffer bias(128256 * 4);
    KILN_CUDA_CHECK(cudaMemset(bias.ptr, 0, 128256 * 4));
    cudaEvent_t start, stop;
    KILN_CUDA_CHECK(cudaEventCreate(&start));
    KILN_CUDA_CHECK(cudaEventCreate(&stop));

    std::printf("\n| shape | n x k | variant | m | key | median us | min | max | TFLOP/s | GB/s |\n");
    std::printf("|---|---|---|---:|---|---:|---:|---:|---:|---:|\n");
    const char* shape_filter = std::getenv("BENCH_SHAPE");
    for (const Named& s : shapes) {
      if ((shape_filter && std::string(s.name) != shape_filter) || !shape_wanted(s)) continue;
      const bool gated = s.shape.out == MatmulOut::gated_f16;
      const size_t k_padded = (s.shape.k + 63) / 64 * 64;
      const size_t qs_bytes = static_cast<size_t>(s.shape.n) * k_padded, d_count = qs_bytes / 32;
      const size_t set_bytes = (qs_bytes + d_count * 2) * (gated ? 2 : 1);
      // BENCH_COPIES=1: one weight copy (L2-resident where it fits), to tell DRAM from the rest.
      const char* copies_env = std::getenv("BENCH_COPIES");
      const int copies = copies_env ? std::max(1, std::atoi(copies_env))
                                    : static_cast<int>(std::max<size_t>(1, (200ull << 20) / set_bytes + 1));
      std::vector<Weights> w(static_cast<size_t>(copies) * (gated ? 2 : 1));
      for (size_t i = 0; i < w.size(); ++i) {
        w[i].qs = std::make_unique<Buffer>(qs_bytes);
        w[i].d = std::make_unique<Buffer>(d_count * 2);
        fill_random(w[i].qs->ptr, qs_bytes, 100 + i);
        fill_f16(w[i].d->ptr, d_count, 0.002f, 0.02f, 200 + i);
      }
      for (const Variant& v : variants) {
        jit::Library& lib = v.mode == jit::Mode::generic ? lib_gen : lib_spec;
        const jit::KernelKey key = matmul_key(s.shape, v.m, target, v.tuning);
        const jit::Kernel& kernel = lib.get(key);
        auto launch = [&](int i) {
          const int c = i % copies;
          MatmulArgs args;
          args.a = a.ptr;
          args.lda = s.shape.k;
          args.w = {w[c * (gated ? 2 : 1)].qs->ptr, w[c * (gated ? 2 : 1)].d->ptr};
          if (gated) args.w_up = {w[c * 2 + 1].qs->ptr, w[c * 2 + 1].d->ptr};
          if (s.shape.has_bias) args.bias = args.bias_up = static_cast<const float*>(bias.ptr);
          args.out = out.ptr;
          args.ldo = s.shape.n;
          args.m = v.m;
          matmul_launch(kernel, s.shape, args, nullptr);
        };
        for (int i = 0; i < 3; ++i) launch(i);
        KILN_CUDA_CHECK(cudaDeviceSynchronize());
        // Back-to-back launches between two events (as in a decode step or a CUDA graph, the
        // launch latency overlaps the previous kernel): per-launch time = batch time / batch.
        const int batch = 10;
        std::vector<float> ms;
        for (int i = 0; i < reps; ++i) {
          KILN_CUDA_CHECK(cudaEventRecord(start));
          for (int j = 0; j < batch; ++j) launch(3 + i * batch + j);
          KILN_CUDA_CHECK(cudaEventRecord(stop));
          KILN_CUDA_CHECK(cudaEventSynchronize(stop));
          float t = 0;
          KILN_CUDA_CHECK(cudaEventElapsedTime(&t, start, stop));
          ms.push_back(t / batch);
        }
        KILN_CUDA_CHECK(cudaGetLastError());
        std::sort(ms.begin(), ms.end());
        const double med = ms[ms.size() / 2];
        const double tflops = matmul_flops(s.shape, v.m) / (med * 1e-3) / 1e12;
        const double gbs = matmul_bytes(s.shape, v.m) / (med * 1e-3) / 1e9;
        std::printf("| %s | %d x %d | %s | %d | `%s` | %.1f | %.1f | %.1f | %.1f | %.0f |\n", s.name, s.shape.n,
                    s.shape.k, v.label, v.m, lib.resolve(key).str().c_str(), med * 1e3, ms.front() * 1e3,
                    ms.back() * 1e3, tflops, gbs);
        if (verbose) std::printf("cubin %s\n", lib.cache_path(lib.resolve(key)).c_str());
        std::fflush(stdout);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_matmul: %s\n", e.what());
    return 1;
  }
  return 0;
}
