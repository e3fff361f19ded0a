#pragma once
// Decode mat-vec over q8r weights, streamed through shared memory so that DRAM does not idle at
// kernel boundaries. Same product, epilogues (NORM included) and tensor-core arithmetic as
// matvec_q8r.cuh (read it first); what differs is how the weights travel and who waits:
//
// - One CTA per SM (grid = min(tiles, SMs)), persistent over its tiles (tile = blockIdx.x,
//   + gridDim.x, ...), each tile 16 weight rows x all of K.
// - A producer warp streams the CTA's tiles, CHUNK weights of K at a time, into a ring of STAGES
//   shared-memory stages: per stage four TMA boxes of weights (3-D tensor maps, made by
//   engine/matmul.cpp, whose box is 8 rows of a chunk: one copy per half tile for the quants and
//   one for the scales) and one bulk copy of activations per token, completing on the stage's
//   "full" mbarrier. Weights depend on no kernel: the first STAGES chunks go out before the
//   producer waits for the previous kernel, so they are on chip when the activations are.
// - CONSUMERS warps split each chunk's 64-weight groups (warp w takes groups w, w + CONSUMERS,
//   ...), give the stage back on its "empty" mbarrier, and add their partial sums through shared
//   memory at each tile's end (one named barrier); a rotating warp stores the tile.
// - Every CTA lets the next kernel launch at its start. The grid being one wave, the next
//   kernel's CTAs take no slot this one needs: a stream mat-vec's CTA waits for an SM this one
//   leaves (two do not fit on an SM at the default tuning) and fills its ring there at once, so
//   an SM that finished its tiles early streams the next product's weights instead of idling.
// - IN_NORM: the input is the residual stream (f32 rows) and its RMS norm is this kernel's job:
//   once the previous kernel is done, the consumers normalize all m rows into shared memory
//   (InputNorm), where they stay for every tile; the producer then copies only weights and
//   never waits. This replaces the previous product's norm epilogue, whose last block did the same
//   work serially after that product's last tile (notes/decode.md).
//
// Measured on H100 (notes/decode.md): 16 bulk copies a stage (one per row) cost ~1.2 us per
// stage whatever its size, the TMA unit's per-copy overhead; 16-byte cp.async copies from one
// producer warp streamed 1.0-1.5 TB/s. The 3-D boxes stream 2.9-3.0 TB/s on the large products.
//
// Needs k % 256 == 0 (chunks and scale rows in whole 16-byte units) and whole tiles (n % 16, gated
// n % 8): engine/matmul.h falls back to matvec_q8r otherwise.
#include "matvec_q8r.cuh"
#include "mma_wgmma.cuh"

namespace kiln_q8 {

// Barrier 1 among the first THREADS threads (barrier 0 is __syncthreads').
template <int THREADS>
__device__ __forceinline__ void named_barrier_sync() {
  asm volatile("bar.sync 1, %0;" ::"n"(THREADS) : "memory");
}

// IN_NORM, by the first THREADS threads: rows[t] = f16(h_t * rsqrt(mean(h_t^2) + eps) * weight)
// for the m rows h_t of p.a (f32, p.lda apart), `pitch` bytes apart in shared memory; the
// arithmetic of rmsnorm_row. The weights depend on no kernel: load_weights runs before the wait
// for the previous kernel, run after it. Where K is known and the rows' share of a thread fits
// in 8 float4, both live in registers, so that run waits for one round of loads (the rows); else
// it loops over memory.
template <int K, int MAX_TOKENS, int THREADS>
struct InputNorm {
  static constexpr int PER_THREAD = K ? (K / 4 + THREADS - 1) / THREADS : 1;  // float4 of a row
  static constexpr bool CACHED = K && PER_THREAD * MAX_TOKENS <= 8;
  float4 w[CACHED ? PER_THREAD : 1];

  __device__ __forceinline__ void load_weights(const Q8MatmulParams& p) {
    if constexpr (CACHED) {
#pragma unroll
      for (int j = 0; j < PER_THREAD; ++j) {
        const int i = threadIdx.x + j * THREADS;
        w[j] = i < K / 4 ? __ldg(reinterpret_cast<const float4*>(p.in_norm_weight) + i) : make_float4(0.f, 0.f, 0.f, 0.f);
      }
    }
  }

  // scratch: MAX_TOKENS x THREADS / 32 floats of shared memory.
  __device__ __forceinline__ void run(const Q8MatmulParams& p, int k, int m, unsigned char* rows, int pitch,
                                      float* scratch) const {
    constexpr int WARPS = THREADS / 32;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, k4 = k / 4;
    const auto row = [&](int t) { return reinterpret_cast<const float4*>(static_cast<const float*>(p.a) + t * p.lda); };
    const auto square = [](float4 h) { return h.x * h.x + h.y * h.y + h.z * h.z + h.w * h.w; };
    const auto store = [&](int t, int i, float4 h, float4 g, float scale) {
      reinterpret_cast<uint2*>(rows + t * pitch)[i] =
          make_uint2(kiln_dev::f32x2_to_f16x2(h.x * scale * g.x, h.y * scale * g.y),
                     kiln_dev::f32x2_to_f16x2(h.z * scale * g.z, h.w * scale * g.w));
    };
    float4 h[CACHED ? MAX_TOKENS : 1][CACHED ? PER_THREAD : 1];
    float sum_sq[MAX_TOKENS];
#pragma unroll
    for (int t = 0; t < MAX_TOKENS; ++t) {
      sum_sq[t] = 0.0f;
      if constexpr (CACHED) {
#pragma unroll
        for (int j = 0; j < PER_THREAD; ++j) {
          const int i = threadIdx.x + j * THREADS;
          h[t][j] = t < m && i < k4 ? row(t)[i] : make_float4(0.f, 0.f, 0.f, 0.f);
        }
      } else if (t < m) {
        for (int i = threadIdx.x; i < k4; i += THREADS) sum_sq[t] += square(row(t)[i]);
      }
    }
#pragma unroll
    for (int t = 0; t < MAX_TOKENS; ++t) {
      if constexpr (CACHED) {
#pragma unroll
        for (int j = 0; j < PER_THREAD; ++j) sum_sq[t] += square(h[t][j]);
      }
      sum_sq[t] = kiln_dev::warp_sum(sum_sq[t]);
      if (lane == 0) scratch[t * WARPS + warp] = sum_sq[t];
    }
    named_barrier_sync<THREADS>();
#pragma unroll
    for (int t = 0; t < MAX_TOKENS; ++t) {
      if (t >= m) break;
      float total = 0.0f;
#pragma unroll
      for (int v = 0; v < WARPS; ++v) total += scratch[t * WARPS + v];
      const float scale = rsqrtf(total / k + p.in_norm_eps);
      if constexpr (CACHED) {
#pragma unroll
        for (int j = 0; j < PER_THREAD; ++j) {
          const int i = threadIdx.x + j * THREADS;
          if (i < k4) store(t, i, h[t][j], w[j], scale);
        }
      } else {
        for (int i = threadIdx.x; i < k4; i += THREADS)
          store(t, i, row(t)[i], __ldg(reinterpret_cast<const float4*>(p.in_norm_weight) + i), scale);
      }
    }
    named_barrier_sync<THREADS>();
  }
};

// The ring's layout of one stage's weights (a CHUNK of K of one tile, as the producer's four TMA
// boxes lay it down): quants [2 halves][CHUNK / 64 groups][8 rows][64 B], then scales
// [2 halves][CHUNK / 256][8 rows][16 B]. matvec_chain.cuh streams through the same stages.
template <int CHUNK>
struct StreamStage {
  static constexpr int QS_HALF = matvec_stream_qs_bytes(CHUNK) / 2, D_HALF = matvec_stream_d_bytes(CHUNK) / 2;
  static constexpr int D_OFF = 2 * QS_HALF, X_OFF = D_OFF + 2 * D_HALF;
  static constexpr u32 WEIGHT_BYTES = 2 * (QS_HALF + D_HALF);  // the four TMA boxes
  static constexpr int GROUPS = CHUNK / kQ8rGroup;

  // By one lane: the stage's four boxes of chunk `chunk` of tile `tile` (W rows 16 tile + 0..7 and
  // + 8..15; gated W_gate and W_up rows 8 tile + 0..7), completing on the mbarrier `bar`.
  template <bool GATED>
  static __device__ __forceinline__ void load_weights(const Q8TensorMap* maps, u32 stage, u32 bar, int tile,
                                                      int chunk) {
    mbar_arrive_expect_tx(bar, WEIGHT_BYTES);
    for (int half = 0; half < 2; ++half) {
      const int matrix = GATED ? half : 0, row0 = GATED ? tile * 8 : tile * 16 + half * 8;
      tma_load_3d(stage + half * QS_HALF, &maps[2 * matrix], 0, row0, chunk * (CHUNK / kQ8rGroup), bar);
      tma_load_3d(stage + D_OFF + half * D_HALF, &maps[2 * matrix + 1], 0, row0, chunk * (CHUNK / 256), bar);
    }
  }

  // A consumer warp's share of a landed stage: groups warp, warp + CONSUMERS, ... (< chunk_groups)
  // dequantized into A fragments and multiplied by the activations on the tensor cores into acc.
  // x: the shared address of token g's activation (g = lane / 4) at the chunk's first weight,
  // column 2 (lane % 4); x_ok: g is a token.
  template <int CONSUMERS>
  static __device__ __forceinline__ void multiply(float (&acc)[4], u32 stage, u32 x, int chunk_groups, int warp,
                                                  int lane, bool x_ok) {
    constexpr int PER_WARP = (GROUPS + CONSUMERS - 1) / CONSUMERS;
    const int g = lane >> 2, c = lane & 3;
#pragma unroll
    for (int u = 0; u < PER_WARP; ++u) {
      const int group = warp + u * CONSUMERS;
      if (group < chunk_groups) {
        const u32 q = stage + group * 512 + g * 64 + c * 16;  // [half][group][row][64 B]
        const uint4 w_lo = lds128(q), w_hi = lds128(q + QS_HALF);
        const u32 d = stage + D_OFF + (group >> 2) * 128 + g * 16 + (group & 3) * 4;  // [half][group / 4][row][16 B]
        const u32 s_lo = lds32(d), s_hi = lds32(d + D_HALF);
        // B fragment of k16 step j: x[token g][16j + 2c, +1] and [16j + 2c + 8, +9] of the group.
        const u32 xg = x + group * kQ8rGroup * 2;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          u32 a[4];
          q8r_fragment(j, w_lo, w_hi, s_lo, s_hi, a);
          const u32 b0 = x_ok ? lds32(xg + 32 * j) : 0u, b1 = x_ok ? lds32(xg + 32 * j + 16) : 0u;
          mma_16816(acc, a, b0, b1);
        }
      }
    }
  }
  // A consumer warp's part of one tile: its chunks (steps i, i + 1, ... of the CTA, i advanced
  // past them) from ring stages of STAGE_BYTES, each waited for on its "full" mbarrier,
  // multiplied into acc and given back on its "empty" one. x_at(chunk, stage): the activations'
  // shared address for multiply.
  template <int CONSUMERS, int STAGES, int STAGE_BYTES, class XAt>
  static __device__ __forceinline__ void consume_tile(float (&acc)[4], int& i, u32 ring, u32 full, u32 empty, int k,
                                                      int warp, int lane, bool x_ok, XAt x_at) {
    const int n_chunks = (k + CHUNK - 1) / CHUNK;
    for (int chunk = 0; chunk < n_chunks; ++chunk, ++i) {
      const int s = i % STAGES;
      const int chunk_groups = min(GROUPS, (k - chunk * CHUNK) / kQ8rGroup);
      mbar_wait(full + 8 * s, (i / STAGES) & 1);
      const u32 stage = ring + s * STAGE_BYTES;
      multiply<CONSUMERS>(acc, stage, x_at(chunk, stage), chunk_groups, warp, lane, x_ok);
      __syncwarp();
      if (lane == 0) mbar_arrive(empty + 8 * s);
    }
  }
};

// A tile's end, by every consumer warp: each leaves its partial sums in `partial` (two buffers,
// by tile parity t: a warp writes this tile's while the storer of the last may still read), then
// one warp (rotating) adds and stores them.
template <int CONSUMERS, int OUT_KIND, int ACT, int HAS_BIAS>
__device__ __forceinline__ void finish_tile(const Q8MatmulParams& p, int n, int m, int tile, int t, float4* partial,
                                            const float acc[4], int warp, int lane) {
  constexpr int CONSUMER_THREADS = CONSUMERS * 32;
  float4* mine = partial + (t & 1) * CONSUMER_THREADS;
  mine[warp * 32 + lane] = make_float4(acc[0], acc[1], acc[2], acc[3]);
  named_barrier_sync<CONSUMER_THREADS>();
  if (warp == t % CONSUMERS) store_warp_sums<CONSUMERS, OUT_KIND, ACT, HAS_BIAS>(p, n, m, tile, mine, lane);
}

}  // namespace kiln_q8

// A register cap of two CTAs' worth (113 a thread), which the kernels take well under (46-96):
// shared memory, not registers, keeps one CTA per SM at the default tuning (engine/matmul.h).
template <int K, int N, int OUT_KIND, int ACT, int HAS_BIAS, int NORM, int MAX_TOKENS, int CONSUMERS, int CHUNK,
          int STAGES, int IN_NORM>
__global__ void __launch_bounds__((CONSUMERS + 1) * 32, 2)
    matvec_q8r_stream(const __grid_constant__ MatvecQ8rParams p) {
  KILN_TRACE_KERNEL();
  using namespace kiln_q8;
  static_assert(MAX_TOKENS >= 1 && MAX_TOKENS <= 8, "matvec_q8r_stream: max_tokens must be 1..8");
  static_assert(K % 256 == 0 && CHUNK % 256 == 0 && CONSUMERS >= 1 && STAGES >= 2,
                "matvec_q8r_stream: bad constants");
  static_assert(!NORM || OUT_KIND == kMatmulOutAddF32, "matvec_q8r_stream: the norm epilogue follows a residual add");
  constexpr bool GATED = OUT_KIND == kMatmulOutGatedF16;
  constexpr int THREADS = (CONSUMERS + 1) * 32, CONSUMER_THREADS = CONSUMERS * 32;
  using Stage = StreamStage<CHUNK>;
  constexpr int X_ROW = matvec_stream_x_row(CHUNK), STAGE_BYTES = matvec_stream_stage_bytes(CHUNK, IN_NORM ? 0 : MAX_TOKENS);
  constexpr int PARTIAL_OFF = STAGES * STAGE_BYTES, BAR_OFF = PARTIAL_OFF + 2 * CONSUMER_THREADS * 16;
  constexpr int ROWS_OFF = BAR_OFF + STAGES * 16 + 16;  // IN_NORM: the normalized rows
  extern __shared__ __align__(128) unsigned char smem_raw[];
  unsigned char* smem = smem_raw + ((128 - (smem_u32(smem_raw) & 127)) & 127);  // TMA boxes: 128-byte aligned
  float4* partial = reinterpret_cast<float4*>(smem + PARTIAL_OFF);  // [2 tiles][CONSUMERS][32]
  int& is_last = *reinterpret_cast<int*>(smem + BAR_OFF + STAGES * 16);

  const int k = K ? K : p.k, n = N ? N : p.n;
  const int n_chunks = (k + CHUNK - 1) / CHUNK, tiles = GATED ? n / 8 : n / 16;
  const int m = p.m < MAX_TOKENS ? p.m : MAX_TOKENS;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const u32 ring = smem_u32(smem), full = ring + BAR_OFF, empty = full + STAGES * 8;
  // Step i of a CTA is chunk i % n_chunks of its tile i / n_chunks, in ring stage i % STAGES.
  const int my_tiles = static_cast<int>(blockIdx.x) < tiles ? (tiles - 1 - blockIdx.x) / gridDim.x + 1 : 0;
  const int steps = my_tiles * n_chunks;

  if (threadIdx.x == 0) {
    for (int s = 0; s < STAGES; ++s) {
      mbar_init(full + 8 * s, IN_NORM ? 1 : 2);  // the producer's arrivals: weights (, then activations)
      mbar_init(empty + 8 * s, CONSUMERS);
    }
    fence_mbarrier_init();
  }
  __syncthreads();
  kiln_dev::allow_next_kernel_to_launch();

  if (warp == CONSUMERS) {
    // Producer: per stage four TMA boxes of weights (quants and scales of the tile's two 8-row
    // halves: W rows 16 tile + 0..7 and + 8..15, gated W_gate and W_up rows 8 tile + 0..7) and
    // one bulk copy of activations per token.
    auto issue_weights = [&](int i) {
      if (lane != 0) return;
      const int s = i % STAGES;
      Stage::template load_weights<GATED>(p.w_maps, ring + s * STAGE_BYTES, full + 8 * s,
                                          blockIdx.x + (i / n_chunks) * gridDim.x, i % n_chunks);
    };
    auto issue_activations = [&](int i) {
      const int s = i % STAGES, chunk = i % n_chunks, kc = min(CHUNK, k - chunk * CHUNK);
      if (lane == 0) mbar_arrive_expect_tx(full + 8 * s, m * kc * 2);
      __syncwarp();
      if (lane < m)
        bulk_copy_to_shared(ring + s * STAGE_BYTES + Stage::X_OFF + lane * X_ROW,
                            static_cast<const char*>(p.a) + (static_cast<long long>(lane) * p.lda + chunk * CHUNK) * 2,
                            kc * 2, full + 8 * s);
    };
    // Weights depend on no kernel: the first ring's worth goes out before the wait (IN_NORM: the
    // producer copies nothing else and never waits).
    const int first = min(STAGES, steps);
    for (int i = 0; i < first; ++i) issue_weights(i);
    if (!IN_NORM) {
      kiln_dev::wait_for_previous_kernel();
      for (int i = 0; i < first; ++i) issue_activations(i);
    }
    for (int i = first; i < steps; ++i) {
      mbar_wait(empty + 8 * (i % STAGES), ((i / STAGES) & 1) ^ 1);
      issue_weights(i);
      if (!IN_NORM) issue_activations(i);
    }
  } else {
    // Consumers: they store what the previous kernel may read (or, add_f32, wrote).
    InputNorm<K, MAX_TOKENS, CONSUMER_THREADS> input_norm;
    if constexpr (IN_NORM) input_norm.load_weights(p);
    kiln_dev::wait_for_previous_kernel();
    const int rows_pitch = matvec_stream_x_row(k);
    if constexpr (IN_NORM) input_norm.run(p, k, m, smem + ROWS_OFF, rows_pitch, reinterpret_cast<float*>(partial));
    const int g = lane >> 2, c = lane & 3;
    const bool x_ok = g < m;
    int i = 0, t = 0;
    const auto x_at = [&](int chunk, u32 stage) {
      return IN_NORM ? ring + ROWS_OFF + g * rows_pitch + (chunk * CHUNK + 2 * c) * 2
                     : stage + Stage::X_OFF + g * X_ROW + 2 * c * 2;
    };
    for (int tile = blockIdx.x; tile < tiles; tile += gridDim.x, ++t) {
      float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      Stage::template consume_tile<CONSUMERS, STAGES, STAGE_BYTES>(acc, i, ring, full, empty, k, warp, lane, x_ok,
                                                                   x_at);
      finish_tile<CONSUMERS, OUT_KIND, ACT, HAS_BIAS>(p, n, m, tile, t, partial, acc, warp, lane);
    }
    if constexpr (NORM) {
      // Every consumer's stores precede warp 0's count (the barrier, then its release).
      named_barrier_sync<CONSUMER_THREADS>();
      if (warp == 0) {
        const bool last = count_block(p.norm_counter, lane);
        if (lane == 0) is_last = last;
      }
    }
  }
  if constexpr (NORM) {
    __syncthreads();  // is_last is published; the partial sums are free as the norm's scratch
    norm_by_last_block<N, THREADS>(p, n, m, is_last, reinterpret_cast<float*>(partial));
  }
}
