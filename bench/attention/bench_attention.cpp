// Micro-benchmark of the attention kernels at llama-8b's shapes (32 query / 8 KV heads, head dim
// 128, page 64), specialized vs generic in one run:
//   prefill: 512 new tokens over depth d (one layer; TFLOP/s over the causal flops actually needed)
//   decode:  1 token over depth d, 32 layers' caches in turn (each layer's K/V is new to L2 at
//            depth, as in a real step), replayed as a CUDA graph (GB/s over the K/V + q/out bytes)
// Random f16 data everywhere. Each row: 3 warm-ups, `reps` timed runs (events), median [min..max].
//   bench_attention [reps] [-v] [-p]   (-v: also tuning sweeps: prefill warps, decode
//   splits/stages; -p: prefill only, over llama-8b's and qwen2's head counts)
// Prefill rows: wgmma=3 (the default at head_dim 128 with 8 warps: the warp-specialized kernel,
// attn_prefill_ws.cuh), 1 (128 keys per iteration, P V on m64n128k16), 2 (the v3 schedule: 64
// keys, m64n64k16) and 0 (mma.sync), each with the
// heuristic's warps unless -v; "diff" = the largest |out - out of the first row| of that depth
// (the same inputs: a check that the variants agree).
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/attention.h"
#include "jit/cuda_check.h"
#include "jit/device.h"
#include "jit/library.h"

using namespace kiln;
using namespace kiln::engine;

namespace {

struct Buffer {
  void* ptr = nullptr;
  size_t bytes = 0;
  explicit Buffer(size_t n) : bytes(n) { KILN_CUDA_CHECK(cudaMalloc(&ptr, n)); }
  ~Buffer() { cudaFree(ptr); }
  template <class T>
  T* as() const { return static_cast<T*>(ptr); }
};

// f16 values in [-1, 1) (random bits of the right exponent range: normal numbers only).
void fill_f16(void* dev, size_t count, uint64_t seed) {
  std::vector<uint16_t> host(count);
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < count; i += 4) {
    const uint64_t r = rng();
    for (size_t j = 0; j < 4 && i + j < count; ++j) {
      const uint16_t bits = uint16_t(r >> (16 * j));
      // sign, exponent 2^-7 .. 2^-1 (biased 8..14), 10 random mantissa bits
      host[i + j] = uint16_t((bits & 0x8000u) | ((8u + (bits >> 10) % 7u) << 10) | (bits & 0x3ffu));
    }
  }
  KILN_CUDA_CHECK(cudaMemcpy(dev, host.data(), count * 2, cudaMemcpyHostToDevice));
}

float f16_value(uint16_t h) {
  const int e = (h >> 10) & 31, m = h & 1023;
  const float v = e == 0 ? std::ldexp(float(m), -24) : e == 31 ? (m ? NAN : INFINITY) : std::ldexp(float(m | 1024), e - 25);
  return h & 0x8000 ? -v : v;
}

struct Stats {
  double median, min, max;
};

template <class Fn>
Stats time_it(Fn fn, int reps) {
  cudaEvent_t a, b;
  KILN_CUDA_CHECK(cudaEventCreate(&a));
  KILN_CUDA_CHECK(cudaEventCreate(&b));
  for (int i = 0; i < 3; ++i) fn();
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    KILN_CUDA_CHECK(cudaEventRecord(a));
    fn();
    KILN_CUDA_CHECK(cudaEventRecord(b));
    KILN_CUDA_CHECK(cudaEventSynchronize(b));
    float t = 0;
    KILN_CUDA_CHECK(cudaEventElapsedTime(&t, a, b));
    ms.push_back(t);
  }
  KILN_CUDA_CHECK(cudaGetLastError());
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front(), ms.back()};
}

// One sequence's cache of kv_len tokens over `layers` layers, pages in order.
struct Cache {
  AttnShape shape;
  int kv_len, layers, max_pages;
  std::unique_ptr<Buffer> pools, table, q_start, kv_lens;
  size_t pool_bytes;
  Cache(const AttnShape& s, int kv_len_, int n_q, int layers_) : shape(s), kv_len(kv_len_), layers(layers_) {
    max_pages = kv_pages_for(kv_len);
    pool_bytes = size_t(max_pages) * s.n_kv_heads * s.page_size * s.head_dim * 2;
    pools = std::make_unique<Buffer>(pool_bytes * 2 * layers);
    fill_f16(pools->ptr, pool_bytes, 11);  // layer 0's K and V (pool_bytes * 2 bytes), copied to the rest
    for (int l = 1; l < layers; ++l)
      KILN_CUDA_CHECK(cudaMemcpy(static_cast<char*>(pools->ptr) + pool_bytes * 2 * l, pools->ptr, pool_bytes * 2,
                                 cudaMemcpyDeviceToDevice));
    std::vector<int32_t> pages(max_pages);
    for (int i = 0; i < max_pages; ++i) pages[i] = i;
    table = std::make_unique<Buffer>(pages.size() * 4);
    KILN_CUDA_CHECK(cudaMemcpy(table->ptr, pages.data(), pages.size() * 4, cudaMemcpyHostToDevice));
    const int32_t qs[2] = {0, n_q};
    q_start = std::make_unique<Buffer>(8);
    KILN_CUDA_CHECK(cudaMemcpy(q_start->ptr, qs, 8, cudaMemcpyHostToDevice));
    kv_lens = std::make_unique<Buffer>(4);
    KILN_CUDA_CHECK(cudaMemcpy(kv_lens->ptr, &kv_len, 4, cudaMemcpyHostToDevice));
  }
  AttnArgs args(int layer, const void* q, void* out, int n_q) const {
    AttnArgs a;
    a.q = q;
    a.k_pool = static_cast<char*>(pools->ptr) + pool_bytes * 2 * layer;
    a.v_pool = static_cast<char*>(pools->ptr) + pool_bytes * (2 * layer + 1);
    a.out = out;
    a.scale = 1.f / std::sqrt(float(shape.head_dim));
    a.batch = {q_start->as<int32_t>(), kv_lens->as<int32_t>(), table->as<int32_t>(), nullptr, max_pages, 1, n_q, n_q};
    return a;
  }
};

const char* mode_str(jit::Mode m) { return m == jit::Mode::specialized ? "specialized" : "generic"; }

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 20;
  bool verbose = false, prefill_only = false;
  for (int i = 2; i < argc; ++i) {
    verbose |= std::string(argv[i]) == "-v";
    prefill_only |= std::string(argv[i]) == "-p";
  }
  try {
    const jit::Device& dev = jit::Device::current();
    std::printf("device: %s, %d SMs, L2 %zu MB\n", dev.name.c_str(), dev.sm_count, dev.l2_bytes >> 20);
    const AttnTarget target{dev.sm_count};
    jit::LibraryOptions opt[2];
    opt[0].mode = jit::Mode::specialized;
    opt[1].mode = jit::Mode::generic;
    jit::Library spec(opt[0]), gen(opt[1]);
    jit::Library* libs[2] = {&spec, &gen};

    const AttnShape llama{.head_dim = 128, .n_heads = 32, .n_kv_heads = 8};
    const int n_q = 512;
    Buffer q(size_t(n_q) * llama.n_heads * llama.head_dim * 2), out(q.bytes);
    fill_f16(q.ptr, q.bytes / 2, 3);
    Buffer ws(attn_decode_workspace_bytes(llama, 1));

    std::printf("\n| kernel | depth | mode | tuning | median us | min..max us | rate |\n|---|---:|---|---|---:|---|---:|\n");
    auto row = [&](const char* kernel, int depth, jit::Mode mode, const std::string& tuning, Stats t, double rate,
                   const char* unit) {
      std::printf("| %s | %d | %s | %s | %.1f | %.1f..%.1f | %.1f %s |\n", kernel, depth, mode_str(mode),
                  tuning.c_str(), t.median * 1e3, t.min * 1e3, t.max * 1e3, rate, unit);
      std::fflush(stdout);
    };

    // Prefill head counts: llama-8b / qwen3-4b (gqa 4), then with -p qwen2-7b (28/4, gqa 7),
    // qwen2-1.5b (12/2, gqa 6), qwen2-3b (16/2, gqa 8).
    std::vector<AttnShape> prefill_shapes = {llama};
    if (prefill_only)
      for (auto [h, kv] : {std::pair{28, 4}, {12, 2}, {16, 2}})
        prefill_shapes.push_back({.head_dim = 128, .n_heads = h, .n_kv_heads = kv});
    for (const AttnShape& shape : prefill_shapes)
      for (int depth : {0, 1024, 8192, 32768}) {
        Cache cache(shape, depth + n_q, n_q, 1);
        const double flops = attn_flops(shape, n_q, depth + n_q);
        struct Variant {
          int warps, wgmma;
        };
        std::vector<Variant> variants = {{0, 3}, {0, 1}, {0, 2}, {0, 0}};
        if (verbose) variants = {{8, 2}, {4, 2}, {8, 1}, {4, 1}, {8, 0}, {4, 0}};
        std::vector<uint16_t> first, got(size_t(n_q) * shape.n_heads * shape.head_dim);
        const std::string name = "prefill 512 h" + std::to_string(shape.n_heads) + "/" + std::to_string(shape.n_kv_heads);
        for (const Variant& v : variants)
          for (int m = 0; m < 2; ++m) {
            const jit::KernelKey key =
                attn_prefill_key(shape, n_q, 1, target, {.prefill_warps = v.warps, .prefill_wgmma = v.wgmma});
            const jit::Kernel& k = libs[m]->get(key);
            if (verbose && m == 0) std::printf("cubin %s\n", libs[m]->cache_path(libs[m]->resolve(key)).c_str());
            const AttnArgs a = cache.args(0, q.ptr, out.ptr, n_q);
            const Stats t = time_it([&] { attn_prefill_launch(k, nullptr, shape, a, 1, nullptr); }, reps);
            KILN_CUDA_CHECK(cudaMemcpy(got.data(), out.ptr, got.size() * 2, cudaMemcpyDeviceToHost));
            if (first.empty()) first = got;
            float diff = 0;
            for (size_t i = 0; i < got.size(); ++i) {
              const float d = std::fabs(f16_value(got[i]) - f16_value(first[i]));
              diff = std::isnan(d) ? INFINITY : std::max(diff, d);
            }
            row(name.c_str(), depth, opt[m].mode,
                "warps=" + std::to_string(key.get("warps")) + ",wgmma=" + std::to_string(key.get("wgmma")) +
                    ",diff=" + std::to_string(diff).substr(0, 8),
                t, flops / (t.median * 1e-3) / 1e12, "TFLOP/s");
          }
      }
    if (prefill_only) return 0;

    const int layers = 32;
    for (int depth : {0, 1024, 8192, 32768}) {
      const int kv_len = depth + 1;
      Cache cache(llama, kv_len, 1, layers);
      const double bytes = attn_bytes(llama, 1, kv_len) * layers;
      struct Variant {
        int splits, stages;
      };
      std::vector<Variant> variants = {{0, 0}};
      if (verbose && depth >= 1024) {
        for (int st : {4, 5, 6}) variants.push_back({0, st});
        if (depth >= 8192)
          for (int s : {8, 32}) variants.push_back({s, 0});
      }
      for (const Variant& v : variants)
        for (int m = 0; m < 2; ++m) {
          const jit::Kernel& kd = libs[m]->get(attn_decode_key(llama, {.decode_stages = v.stages}));
          const int splits = v.splits ? v.splits : attn_decode_splits(llama, kv_len, 1, target);
          // 32 layers as one graph: launch gaps vanish as in the engine's decode graphs.
          cudaStream_t stream;
          KILN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
          cudaGraph_t graph;
          cudaGraphExec_t exec;
          KILN_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
          for (int l = 0; l < layers; ++l) {
            AttnArgs a = cache.args(l, q.ptr, out.ptr, 1);
            a.workspace = ws.as<float>();
            a.workspace_bytes = ws.bytes;
            attn_decode_launch(kd, &libs[m]->get(attn_decode_combine_key(llama)), llama, a, splits, stream);
          }
          KILN_CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
          KILN_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
          Stats t = time_it([&] { KILN_CUDA_CHECK(cudaGraphLaunch(exec, nullptr)); }, reps);
          cudaGraphExecDestroy(exec);
          cudaGraphDestroy(graph);
          cudaStreamDestroy(stream);
          const Stats per_layer{t.median / layers, t.min / layers, t.max / layers};
          row("decode x32 layers", depth, opt[m].mode,
              "splits=" + std::to_string(splits) + ",stages=" + std::to_string(kd.key().get("stages")), per_layer,
              bytes / (t.median * 1e-3) / 1e9, "GB/s");
        }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_attention: %s\n", e.what());
    return 1;
  }
  return 0;
}
