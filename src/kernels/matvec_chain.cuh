#pragma once
// Decode's weight products from one layer's attention output to the next layer's qkv, in one
// persistent kernel (read matvec_q8r_stream.cuh first: the ring, the TMA boxes, the tensor-core
// arithmetic and the tile epilogue are its own):
//   o     h += attn · W_oᵀ                              (attn: f16 rows the previous kernel wrote)
//   up    act = act(xn · W_gateᵀ) * (xn · W_upᵀ)         (xn = rmsnorm(h) * ffn_norm, made here)
//   down  h += act · W_downᵀ
//   next  out = xn' · W_nextᵀ (+ bias)                   (xn' = rmsnorm(h) * the next norm; next =
//                                                         the next layer's qkv, or the LM head)
// Launched as four stream kernels, every product boundary costs a grid launch: a product's CTA
// starts ~1 us after the previous product's CTA on its SM ends, and fills its ring from nothing
// (notes/decode.md, "What is left"). Here one CTA per SM runs all four, and its producer warp
// streams the weights of one product after the other through the one ring without ever waiting for
// data: the next product's first chunks land while the consumers finish this product's last tiles
// and wait at the boundary, so DRAM does not idle there.
//
// The boundary is a grid barrier: after a product's last tile, each CTA's consumers meet (their
// stores done), thread 0 adds 1 to the barrier counter with release semantics and polls it until
// every CTA has arrived (then an acquire fence); after a second meeting the consumers read the
// next product's input, which other CTAs wrote. All CTAs must be resident at once: the grid is one
// CTA per SM, and its shared memory (at most 227 KB) lets one fit on every SM once the kernel
// before it, attention, ends; the kernel after it launches only when every CTA of this one has
// reached its last product. A spin that outlasts kBarrierTimeoutNs traps, so a GPU shared with a
// process that keeps SMs (MPS) fails the launch instead of hanging.
//
// Every product reads its input rows from shared memory, all of K, loaded by the consumers after
// the boundary: o and down copy f16 rows, up and next normalize h (InputNorm) as in_norm does.
//
// Measured on the H100 (notes/decode.md, 2026-12-07): bit-identical to the four launches, but
// 5% slower end to end with the trigger at the kernel's start; the trigger at the last product
// (below) is not measured yet. Off by default (EngineOptions::matvec_chain).
#include "matvec_chain_params.h"
#include "matvec_q8r_stream.cuh"

namespace kiln_q8 {

// A product's constants; 0 for K or N: read from its params (generic build).
template <int K_, int N_, int OUT_KIND_, int ACT_, int HAS_BIAS_, int IN_NORM_>
struct ChainProduct {
  static constexpr int K = K_, N = N_, OUT_KIND = OUT_KIND_, ACT = ACT_, HAS_BIAS = HAS_BIAS_, IN_NORM = IN_NORM_;
  static constexpr bool GATED = OUT_KIND == kMatmulOutGatedF16;
  static __device__ __forceinline__ int k(const Q8MatmulParams& p) { return K ? K : p.k; }
  static __device__ __forceinline__ int n(const Q8MatmulParams& p) { return N ? N : p.n; }
  static __device__ __forceinline__ int tiles(const Q8MatmulParams& p) { return GATED ? n(p) / 8 : n(p) / 16; }
};

constexpr unsigned long long kBarrierTimeoutNs = 10'000'000'000ull;

// By one thread, after its CTA's stores of the product: arrive at the boundary and wait for the
// whole grid.
__device__ __forceinline__ void grid_barrier(unsigned long long* counter) {
  unsigned long long before, now, start, seen;
  asm volatile("atom.release.gpu.global.add.u64 %0, [%1], 1;" : "=l"(before) : "l"(counter) : "memory");
  const unsigned long long target = (before / gridDim.x + 1) * gridDim.x;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
  // Relaxed polls, then one acquire fence: an acquire load in the loop would invalidate L1 at
  // every poll.
  for (int spins = 1;; ++spins) {
    asm volatile("ld.relaxed.gpu.global.u64 %0, [%1];" : "=l"(seen) : "l"(counter) : "memory");
    if (seen >= target) break;
    if (spins % 1024 == 0) {
      asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
      if (now - start > kBarrierTimeoutNs) __trap();  // not every CTA is resident: fail, do not hang
    }
  }
  asm volatile("fence.acq_rel.gpu;" ::: "memory");
}

// By the first THREADS threads: m rows of K f16 from p.a (p.lda apart) into shared memory,
// `pitch` bytes apart. Where K is known, every load is issued before the first store.
template <int K, int MAX_TOKENS, int THREADS>
__device__ __forceinline__ void copy_rows(const Q8MatmulParams& p, int k, int m, unsigned char* rows, int pitch) {
  const auto src = [&](int t) {
    return reinterpret_cast<const uint4*>(static_cast<const kiln_dev::f16_bits*>(p.a) + t * p.lda);
  };
  if constexpr (K != 0 && (K / 8 + THREADS - 1) / THREADS * MAX_TOKENS <= 16) {
    constexpr int PER_THREAD = (K / 8 + THREADS - 1) / THREADS;
    uint4 v[MAX_TOKENS][PER_THREAD];
#pragma unroll
    for (int t = 0; t < MAX_TOKENS; ++t)
#pragma unroll
      for (int j = 0; j < PER_THREAD; ++j) {
        const int i = threadIdx.x + j * THREADS;
        if (t < m && i < K / 8) v[t][j] = src(t)[i];
      }
#pragma unroll
    for (int t = 0; t < MAX_TOKENS; ++t)
#pragma unroll
      for (int j = 0; j < PER_THREAD; ++j) {
        const int i = threadIdx.x + j * THREADS;
        if (t < m && i < K / 8) reinterpret_cast<uint4*>(rows + t * pitch)[i] = v[t][j];
      }
  } else {
    for (int t = 0; t < m; ++t)
      for (int i = threadIdx.x; i < k / 8; i += THREADS) reinterpret_cast<uint4*>(rows + t * pitch)[i] = src(t)[i];
  }
  named_barrier_sync<THREADS>();
}

}  // namespace kiln_q8

// The products' constants (generic build: k_o, n_embd, n_ff, n_next 0), then the stream
// kernel's tuning. One CTA per SM: its shared memory is more than half of an SM's.
template <int K_O, int N_EMBD, int N_FF, int N_NEXT, int ACT, int O_BIAS, int NEXT_BIAS, int MAX_TOKENS, int CONSUMERS,
          int CHUNK, int STAGES>
__global__ void __launch_bounds__((CONSUMERS + 1) * 32, 1) matvec_chain(const __grid_constant__ MatvecChainParams p) {
  KILN_TRACE_KERNEL();
  using namespace kiln_q8;
  static_assert(MAX_TOKENS >= 1 && MAX_TOKENS <= 8, "matvec_chain: max_tokens must be 1..8");
  static_assert(CHUNK % 256 == 0 && CONSUMERS >= 1 && STAGES >= 2, "matvec_chain: bad constants");
  using O = ChainProduct<K_O, N_EMBD, kMatmulOutAddF32, kMatmulActNone, O_BIAS, 0>;
  using Up = ChainProduct<N_EMBD, N_FF, kMatmulOutGatedF16, ACT, 0, 1>;
  using Down = ChainProduct<N_FF, N_EMBD, kMatmulOutAddF32, kMatmulActNone, 0, 0>;
  using Next = ChainProduct<N_EMBD, N_NEXT, kMatmulOutF32, kMatmulActNone, NEXT_BIAS, 1>;
  using Stage = StreamStage<CHUNK>;
  constexpr int CONSUMER_THREADS = CONSUMERS * 32;
  constexpr int STAGE_BYTES = matvec_stream_stage_bytes(CHUNK, 0);
  constexpr int PARTIAL_OFF = STAGES * STAGE_BYTES, BAR_OFF = PARTIAL_OFF + 2 * CONSUMER_THREADS * 16;
  constexpr int ROWS_OFF = BAR_OFF + STAGES * 16 + 16;  // every product's input rows
  extern __shared__ __align__(128) unsigned char smem_raw[];
  unsigned char* smem = smem_raw + ((128 - (smem_u32(smem_raw) & 127)) & 127);  // TMA boxes: 128-byte aligned
  float4* partial = reinterpret_cast<float4*>(smem + PARTIAL_OFF);  // [2 tiles][CONSUMERS][32]

  const int m = p.products[0].m < MAX_TOKENS ? p.products[0].m : MAX_TOKENS;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const u32 ring = smem_u32(smem), full = ring + BAR_OFF, empty = full + STAGES * 8;

  if (threadIdx.x == 0) {
    for (int s = 0; s < STAGES; ++s) {
      mbar_init(full + 8 * s, 1);  // the producer's arrival with the weights' bytes
      mbar_init(empty + 8 * s, CONSUMERS);
    }
    fence_mbarrier_init();
  }
  __syncthreads();

  if (warp == CONSUMERS) {
    // Producer: weights only, so it never waits for anything but a free stage. Step i of the CTA
    // (over all products) goes to stage i % STAGES.
    int i = 0;
    const auto produce = [&](auto product, const Q8MatmulParams& q) {
      using P = decltype(product);
      const int n_chunks = (P::k(q) + CHUNK - 1) / CHUNK, tiles = P::tiles(q);
      for (int tile = blockIdx.x; tile < tiles; tile += gridDim.x)
        for (int chunk = 0; chunk < n_chunks; ++chunk, ++i) {
          const int s = i % STAGES;
          if (i >= STAGES) mbar_wait(empty + 8 * s, ((i / STAGES) & 1) ^ 1);
          if (lane == 0)
            Stage::template load_weights<P::GATED>(q.w_maps, ring + s * STAGE_BYTES, full + 8 * s, tile, chunk);
        }
    };
    produce(O{}, p.products[kChainO]);
    produce(Up{}, p.products[kChainUp]);
    produce(Down{}, p.products[kChainDown]);
    produce(Next{}, p.products[kChainNext]);
    kiln_dev::allow_next_kernel_to_launch();  // see the consumers' call
  } else {
    const int g = lane >> 2, c = lane & 3;
    const bool x_ok = g < m;
    unsigned char* rows = smem + ROWS_OFF;
    int i = 0, t = 0;  // the CTA's step (as the producer counts) and tile (over all products)
    const auto consume = [&](auto product, const Q8MatmulParams& q) {
      using P = decltype(product);
      const int k = P::k(q), n = P::n(q), tiles = P::tiles(q);
      const u32 x_row = ring + ROWS_OFF + g * matvec_stream_x_row(k) + 2 * c * 2;
      const auto x_at = [&](int chunk, u32) { return x_row + chunk * CHUNK * 2; };
      for (int tile = blockIdx.x; tile < tiles; tile += gridDim.x, ++t) {
        float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        Stage::template consume_tile<CONSUMERS, STAGES, STAGE_BYTES>(acc, i, ring, full, empty, k, warp, lane, x_ok,
                                                                     x_at);
        finish_tile<CONSUMERS, P::OUT_KIND, P::ACT, P::HAS_BIAS>(q, n, m, tile, t, partial, acc, warp, lane);
      }
    };
    // The product's input rows, once every CTA's stores of the one before are visible.
    const auto load_input = [&](auto product, const Q8MatmulParams& q) {
      using P = decltype(product);
      const int k = P::k(q);
      if constexpr (P::IN_NORM) {
        InputNorm<P::K, MAX_TOKENS, CONSUMER_THREADS> input_norm;
        input_norm.load_weights(q);
        input_norm.run(q, k, m, rows, matvec_stream_x_row(k), reinterpret_cast<float*>(partial));
      } else {
        copy_rows<P::K, MAX_TOKENS, CONSUMER_THREADS>(q, k, m, rows, matvec_stream_x_row(k));
      }
    };
    // The boundary: this CTA's consumers are done with the rows and have stored their tiles.
    const auto boundary = [&] {
      named_barrier_sync<CONSUMER_THREADS>();
      if (threadIdx.x == 0) {
        kiln_dev::trace(kiln_dev::kTraceArrive);
        grid_barrier(p.barrier);
        kiln_dev::trace(kiln_dev::kTraceLeave);
      }
      named_barrier_sync<CONSUMER_THREADS>();
    };
    kiln_dev::wait_for_previous_kernel();  // attention wrote o's input; o adds into h
    load_input(O{}, p.products[kChainO]);
    consume(O{}, p.products[kChainO]);
    boundary();
    load_input(Up{}, p.products[kChainUp]);
    consume(Up{}, p.products[kChainUp]);
    boundary();
    load_input(Down{}, p.products[kChainDown]);
    consume(Down{}, p.products[kChainDown]);
    boundary();
    // The next kernel (attention) may launch once every CTA is at its last product, as it would
    // after a qkv stream kernel: triggered at the start, its CTAs would sit on their SMs through
    // the whole chain, and the barriers wait for the slowest SM (notes/decode.md: the chain
    // triggering at its start measured 5% slower than the four stream launches).
    kiln_dev::allow_next_kernel_to_launch();
    load_input(Next{}, p.products[kChainNext]);
    consume(Next{}, p.products[kChainNext]);
  }
}
