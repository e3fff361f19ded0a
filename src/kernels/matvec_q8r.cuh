#pragma once
// Decode mat-vec over q8r weights (engine/q8_0_repack.h): out[m][n] (op)= A[m][:] · W[n][:] for
// m <= MAX_TOKENS <= 8 tokens (one for plain decode), with gemm_q8_0's epilogues. Bound by
// reading the weights once, so everything serves the stream: each lane issues 16-byte loads of
// two rows for UNROLL 64-weight groups before using any of them.
//
// A block owns one m16 tile of 16 weight rows (gated: rows alternate in 8s between W_gate and
// W_up, as in gemm_q8_0) and all of K; its WARPS warps split K group by group (warp w takes
// groups w, w + WARPS, ...) and add their partial sums through shared memory at the end. The
// arithmetic is the GEMM's: each group is dequantized in registers into m16n8k16 A fragments
// (x = f16(q * d)) and multiplied on the tensor cores by the activations as the B operand, whose
// 8 columns are the tokens (columns >= m are zeros), accumulating in f32. That costs ~0.1
// instructions per weight per lane, far under what the bandwidth leaves, and makes m = 1..8 free.
// grid.x = ceil(n / 16) (gated: ceil(n / 8)), block = WARPS * 32 threads, no dynamic smem.
//
// Launched programmatically (common.cuh), a block may start while the previous kernel still
// runs: before waiting for it, the blocks among the first PREFETCH_KIB KiB of weights ask L2
// for their rows, so DRAM already streams this product while the last one drains (decode is a
// chain of short dependent kernels, each otherwise paying its ramp-up). The budget stays well
// under L2 so that what was fetched is still there when the block reads it. The next kernel may
// launch only once every block has streamed its weights: launched at once, its early blocks would
// take SM slots and DRAM from this product's last waves (measured, notes/decode.md).
//
// NORM (add_f32 only): the block that finishes last (a counter) RMS-normalizes the m residual
// rows the grid just completed into the next product's f16 input (rmsnorm.cuh's rmsnorm_row):
// the work of an rmsnorm kernel without its launch and the dependency waits around it
// (notes/decode.md: 0-5% of a decoded token, most on the small models).
#include "common.cuh"
#include "matvec_q8r_params.h"
#include "mma_q8.cuh"
#include "rmsnorm.cuh"

// Asks L2 for the weight rows [row0, row0 + rows) of one matrix: qs and scales, each one
// contiguous range (rounded down to whole 16-byte units, as the bulk prefetch needs).
__device__ __forceinline__ void prefetch_rows(const void* qs, const void* d, long long row0, int rows, int kp,
                                              int part) {
  const long long qs_bytes = static_cast<long long>(rows) * kp, d_bytes = static_cast<long long>(rows) * (kp / 16);
  if (part == 0) kiln_dev::prefetch_l2(static_cast<const char*>(qs) + row0 * kp, static_cast<unsigned>(qs_bytes));
  else if (d_bytes >= 16)
    kiln_dev::prefetch_l2(static_cast<const char*>(d) + row0 * (kp / 16), static_cast<unsigned>(d_bytes & ~15ll));
}

// Counts a block on `counter` once its warp's lanes have stored their rows; true in the block
// that counts last. __syncwarp orders the lanes' stores before lane 0's atomic, whose release
// (cumulative) publishes them with the count, and whose acquire lets the last block read every
// other block's rows after its barrier: no __threadfence per lane or in the last block
// (notes/decode.md: +0.4-1% of a decoded token against the fence, atomic, fence pattern).
__device__ __forceinline__ bool count_block(int* counter, int lane) {
  __syncwarp();
  int before = 0;
  if (lane == 0)
    asm volatile("atom.acq_rel.gpu.global.add.s32 %0, [%1], 1;" : "=r"(before) : "l"(counter) : "memory");
  return lane == 0 && before == static_cast<int>(gridDim.x) - 1;
}

// A tile's result from its warps' partial sums (`partial`: [WARPS][32] float4, one m16n8 C
// fragment a warp): the calling warp adds them and stores the fragment.
template <int WARPS, int OUT_KIND, int ACT, int HAS_BIAS>
__device__ __forceinline__ void store_warp_sums(const Q8MatmulParams& p, int n, int m, int tile,
                                                const float4* partial, int lane) {
  float sum[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
  for (int w = 0; w < WARPS; ++w) {
    const float4 v = partial[w * 32 + lane];
    sum[0] += v.x;
    sum[1] += v.y;
    sum[2] += v.z;
    sum[3] += v.w;
  }
  kiln_q8::store_fragment<OUT_KIND, ACT, HAS_BIAS>(p, n, m, tile, kMatvecQ8rRowsPerBlock, 0, 0, sum);
}

// The NORM epilogue, after warp 0 stored the block's rows and counted the block (count_block),
// and a barrier published is_last: the last block to finish normalizes all the rows (reading
// them through L2) and resets the counter.
template <int N, int THREADS>
__device__ __forceinline__ void norm_by_last_block(const Q8MatmulParams& p, int n, int m, bool is_last,
                                                   float* scratch) {
  if (!is_last) return;
  for (int row = 0; row < m; ++row)
    rmsnorm_row<N, 0, 1, THREADS, true>(static_cast<const float*>(p.out) + static_cast<long long>(row) * p.ldo,
                                        nullptr, nullptr, p.norm_weight,
                                        static_cast<kiln_dev::f16_bits*>(p.norm_out) + static_cast<long long>(row) * n,
                                        n, p.norm_eps, scratch);
  if (threadIdx.x == 0) *p.norm_counter = 0;  // ready for the next launch (or graph replay)
}

// MIN_BLOCKS: blocks per SM the registers must allow (engine/matmul.h: matvec_min_blocks), a budget
// tuned on the specialized build. The generic one (K = 0) keeps more values live across its
// run-time loops and, under 2 blocks, took 95 registers on its residual products (2 blocks per
// SM, decode 1-2% slower than under 3 on the 7-8B presets, H100): it keeps at least 3.
template <int K, int N, int OUT_KIND, int ACT, int HAS_BIAS, int NORM, int MAX_TOKENS, int WARPS, int UNROLL,
          int MIN_BLOCKS, int PREFETCH_KIB>
__global__ void __launch_bounds__(WARPS * 32, K || MIN_BLOCKS >= 3 ? MIN_BLOCKS : 3)
    matvec_q8r(const __grid_constant__ MatvecQ8rParams p) {
  KILN_TRACE_KERNEL();
  using namespace kiln_q8;
  static_assert(MAX_TOKENS >= 1 && MAX_TOKENS <= 8, "matvec_q8r: max_tokens must be 1..8");
  static_assert(K % 32 == 0 && WARPS >= 1 && UNROLL >= 1 && MIN_BLOCKS >= 1, "matvec_q8r: bad constants");
  static_assert(!NORM || OUT_KIND == kMatmulOutAddF32, "matvec_q8r: the norm epilogue follows a residual add");
  constexpr bool GATED = OUT_KIND == kMatmulOutGatedF16;
  __shared__ float4 partial[WARPS][32];
  __shared__ int is_last;  // NORM: this block finished last

  const int k = K ? K : p.k, n = N ? N : p.n;
  const int kp = (k + kQ8rGroup - 1) / kQ8rGroup * kQ8rGroup, n_groups = kp / kQ8rGroup;
  const bool k_tail = K ? (K % kQ8rGroup != 0) : (k % kQ8rGroup != 0);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
  const int tile = blockIdx.x;

  if (PREFETCH_KIB && warp == 0 && lane < (GATED ? 4 : 2)) {
    // Bytes of weights per block: 16 rows of kp quants and kp / 16 bytes of scales each.
    const long long block_bytes = 17ll * kp;
    if ((tile + 1) * block_bytes <= PREFETCH_KIB * 1024ll) {
      const int rows_per_matrix = GATED ? kMatvecQ8rRowsPerBlock / 2 : kMatvecQ8rRowsPerBlock;
      const long long row0 = static_cast<long long>(tile) * rows_per_matrix;
      const int rows = static_cast<int>(min(static_cast<long long>(rows_per_matrix), n - row0));
      if (lane < 2) prefetch_rows(p.w_qs, p.w_d, row0, rows, kp, lane);
      else prefetch_rows(p.w2_qs, p.w2_d, row0, rows, kp, lane - 2);
    }
  }
  // Everything below reads the activations or writes: wait for the kernel that made them.
  kiln_dev::wait_for_previous_kernel();

  // This lane's two weight rows (g, g + 8) and its token (the B fragment's column g).
  const TileRow lo = tile_row<GATED>(tile, kMatvecQ8rRowsPerBlock, g);
  const TileRow hi = tile_row<GATED>(tile, kMatvecQ8rRowsPerBlock, g + 8);
  const bool lo_ok = lo.row < n, hi_ok = hi.row < n;
  const long long lo_row = lo_ok ? lo.row : 0, hi_row = hi_ok ? hi.row : 0;
  const char* q_lo = static_cast<const char*>(lo.matrix ? p.w2_qs : p.w_qs) + lo_row * kp + c * 16;
  const char* q_hi = static_cast<const char*>(hi.matrix ? p.w2_qs : p.w_qs) + hi_row * kp + c * 16;
  const char* d_lo = static_cast<const char*>(lo.matrix ? p.w2_d : p.w_d) + lo_row * (kp / 16);
  const char* d_hi = static_cast<const char*>(hi.matrix ? p.w2_d : p.w_d) + hi_row * (kp / 16);
  const int m = p.m < MAX_TOKENS ? p.m : MAX_TOKENS;
  const bool x_ok = g < m;
  const char* x_row = static_cast<const char*>(p.a) + (static_cast<long long>(x_ok ? g : 0) * p.lda + 2 * c) * 2;

  float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll 1
  for (int g0 = warp; g0 < n_groups; g0 += WARPS * UNROLL) {
    uint4 w_lo[UNROLL], w_hi[UNROLL];
    u32 s_lo[UNROLL], s_hi[UNROLL], xb[UNROLL][8];
#pragma unroll
    for (int u = 0; u < UNROLL; ++u) {
      const int group = g0 + u * WARPS;
      const bool in = group < n_groups;
      const uint4 zero = make_uint4(0, 0, 0, 0);
      w_lo[u] = in && lo_ok ? ldg128_stream(q_lo + static_cast<long long>(group) * kQ8rGroup) : zero;
      w_hi[u] = in && hi_ok ? ldg128_stream(q_hi + static_cast<long long>(group) * kQ8rGroup) : zero;
      s_lo[u] = in && lo_ok ? ldg32(d_lo + group * 4) : 0u;
      s_hi[u] = in && hi_ok ? ldg32(d_hi + group * 4) : 0u;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        // B fragment of k16 step j: x[token g][k0 + 2c, +1] and [k0 + 2c + 8, +9]. K is a multiple
        // of 16, so a step is wholly inside K or wholly in the zero padding.
        const int k0 = group * kQ8rGroup + 16 * j;
        const bool ok = in && x_ok && (!k_tail || k0 < k);
        xb[u][2 * j] = ok ? ldg32(x_row + static_cast<long long>(k0) * 2) : 0u;
        xb[u][2 * j + 1] = ok ? ldg32(x_row + static_cast<long long>(k0 + 8) * 2) : 0u;
      }
    }
#pragma unroll
    for (int u = 0; u < UNROLL; ++u) {
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        u32 a[4];
        q8r_fragment(j, w_lo[u], w_hi[u], s_lo[u], s_hi[u], a);
        mma_16816(acc, a, xb[u][2 * j], xb[u][2 * j + 1]);
      }
    }
  }

  kiln_dev::allow_next_kernel_to_launch();
  partial[warp][lane] = make_float4(acc[0], acc[1], acc[2], acc[3]);
  __syncthreads();
  if (warp == 0) {
    store_warp_sums<WARPS, OUT_KIND, ACT, HAS_BIAS>(p, n, m, tile, &partial[0][0], lane);
    if constexpr (NORM) {
      const bool last = count_block(p.norm_counter, lane);
      if (lane == 0) is_last = last;
    }
  }
  if constexpr (NORM) {
    __syncthreads();  // is_last is published, and warp 0 is done with `partial`: the norm's scratch
    norm_by_last_block<N, WARPS * 32>(p, n, m, is_last, reinterpret_cast<float*>(partial));
  }
}
