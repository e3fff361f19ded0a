#pragma once
// Prefill GEMM over q8r weights (engine/q8_0_repack.h) on tensor cores:
//   out[m][n] (op)= A[m][:] · W[n][:]   (gated: act(A·W_gateᵀ) * (A·W_upᵀ))
// computed as outᵀ = W · Aᵀ so that the weights are the mma's A operand: each 64-weight group
// of a weight row is one 16-byte load per lane quad, dequantized in registers (x = f16(q * d))
// straight into the A fragment; the activations tile is the B operand, read from shared memory.
//
// One CTA computes a TILE_N (weight rows) x TILE_M (tokens) tile over all of K, one 64-wide
// group of K per pipeline stage. Two paths, chosen by the WGMMA constant:
//   WGMMA = 0 (sm_80+): 8 warps (WARPS_M along tokens x 8/WARPS_M along rows), every thread
//     loads with cp.async, STAGES-deep ring, mma.sync m16n8k16 with ldmatrix'ed activations.
//   WGMMA = 1 (sm_90a): warp-specialized, TILE_N = 128: warpgroup 0 loads with cp.async and
//     signals mbarriers, warpgroups 1 and 2 each own 64 weight rows and issue
//     wgmma.mma_async m64n{TILE_M}k16 with A (dequantized weights) from registers and B
//     (activations, 128-byte swizzled) from shared memory, one stage in flight.
// The activation tile comes by cp.async, or with TMA = 1 (wgmma path) by the tensor-memory
// accelerator from p.a_map (hardware 128-byte swizzle, zeros out of bounds), which takes the
// 2048 16-byte copies per stage off the producer warps.
// With CLUSTER = 2 or 4 (TMA only) the CTAs of a thread-block cluster share one token tile
// and each loads 1/CLUSTER of it per stage, multicast into all of them: the activations, 4/5 of
// a stage's bytes at tile_m 256, are read from L2 once per cluster instead of once per CTA.
// The tile grid is 1-D: block b -> token tile (b / CLUSTER) % m_tiles, weight tile
// (b / CLUSTER) / m_tiles * CLUSTER + b % CLUSTER, so the CTAs that share a weight tile run
// together and read it from DRAM once.
// Shapes: K (a multiple of 32) and N are constants of the key, 0 = read from params (generic).
#include "common.cuh"
#include "gemm_q8_0_params.h"
#include "mma_q8.cuh"
#include "mma_wgmma.cuh"

namespace kiln_q8 {

// Shared memory of one CTA (byte offsets from a 1024-aligned base): STAGES activation tiles,
// STAGES weight tiles, STAGES scale tiles, then the mbarriers of the WGMMA path.
template <int TILE_N, int TILE_M, int STAGES>
struct GemmSmem {
  static constexpr int a_bytes = TILE_M * 128;  // TILE_M rows of 64 f16, 128-byte swizzled
  static constexpr int w_bytes = TILE_N * 64;   // TILE_N rows of one q8r group
  static constexpr int s_bytes = TILE_N * 4;    // the group's two f16 scales per row
  static constexpr int a_off = 0;
  static constexpr int w_off = STAGES * a_bytes;
  static constexpr int s_off = w_off + STAGES * w_bytes;
  static constexpr int bar_off = s_off + STAGES * s_bytes;
  static_assert(a_bytes % 1024 == 0, "gemm_q8_0: tile_m must be a multiple of 8 (swizzle atoms)");
};

// What one CTA works on, the same for both paths: the shape (key constants, else params), the
// K loop, its tile and its 1024-aligned shared memory. Blocks come in groups of CLUSTER (a
// cluster of the wgmma path) that share a token tile and take consecutive weight tiles; the
// groups run token tile fastest, so the CTAs that share a weight tile run together.
template <int K_, int N_, int TILE_M, int CLUSTER>
struct TileCoords {
  int k, n, kp, nkb;  // kp: K rounded up to the 64-weight group; nkb: groups (pipeline stages)
  bool k_tail;        // K % 64 != 0: the last group is half zero padding
  int m_tile, n_tile, m0;
  u32 smem;  // 1024-aligned shared-memory base
  __device__ __forceinline__ TileCoords(const Q8MatmulParams& p, unsigned char* smem_raw) {
    k = K_ ? K_ : p.k;
    n = N_ ? N_ : p.n;
    kp = (k + kQ8rGroup - 1) / kQ8rGroup * kQ8rGroup;
    nkb = kp / kQ8rGroup;
    k_tail = K_ ? (K_ % kQ8rGroup != 0) : (k % kQ8rGroup != 0);
    const int m_tiles = (p.m + TILE_M - 1) / TILE_M;
    const int group = blockIdx.x / CLUSTER, rank = blockIdx.x % CLUSTER;
    m_tile = group % m_tiles;
    n_tile = group / m_tiles * CLUSTER + rank;
    m0 = m_tile * TILE_M;
    smem = (smem_u32(smem_raw) + 1023u) & ~1023u;
  }
};

// Issues the cp.async copies of K group `kb` into one stage, spread over NTHREADS threads (tid):
// the activation tile unless LOAD_A is false (TMA loads it), the weight tile and its scales.
// Out-of-range tokens, weight rows and (when K % 64 != 0) columns are zero-filled.
template <bool GATED, int TILE_N, int TILE_M, int NTHREADS, bool LOAD_A = true>
__device__ __forceinline__ void load_stage(const Q8MatmulParams& p, int n, int k, int kp, bool k_tail, int m0,
                                           int n_tile, int kb, u32 a_dst, u32 w_dst, u32 s_dst, int tid) {
  // Activations: TILE_M rows x 8 chunks of 16 B; a thread always copies chunk tid % 8 of rows
  // tid / 8 + i * (NTHREADS / 8), so its swizzled column and its pointer step are fixed.
  constexpr int a_chunks = TILE_M * 8, rows_per_pass = NTHREADS / 8;
  static_assert(NTHREADS % 8 == 0, "load_stage: NTHREADS must be a multiple of 8");
  if constexpr (LOAD_A) {
    const int c = tid & 7, r0 = tid >> 3, col = kb * kQ8rGroup + c * 8;
    const bool col_ok = !k_tail || col < k;
    const char* src = static_cast<const char*>(p.a) + (static_cast<long long>(m0 + r0) * p.lda + col) * 2;
    const long long step = static_cast<long long>(rows_per_pass) * p.lda * 2;
    const u32 dst = a_dst + r0 * 128 + ((c ^ (r0 & 7)) << 4);  // rows_per_pass is a multiple of 8
    static_assert(rows_per_pass % 8 == 0 || a_chunks <= NTHREADS, "load_stage: swizzle needs 8-row passes");
#pragma unroll
    for (int i = 0; i < (a_chunks + NTHREADS - 1) / NTHREADS; ++i) {
      if (a_chunks % NTHREADS == 0 || tid + i * NTHREADS < a_chunks) {
        const bool ok = col_ok && m0 + r0 + i * rows_per_pass < p.m;
        cp_async_16(dst + i * rows_per_pass * 128, ok ? src + i * step : p.a, ok ? 16 : 0);
      }
    }
  }
  constexpr int w_chunks = TILE_N * 4;
#pragma unroll
  for (int i = 0; i < (w_chunks + NTHREADS - 1) / NTHREADS; ++i) {
    const int idx = tid + i * NTHREADS;
    if (w_chunks % NTHREADS == 0 || idx < w_chunks) {
      const int r = idx >> 2, c = idx & 3;
      const TileRow tr = tile_row<GATED>(n_tile, TILE_N, r);
      const bool ok = tr.row < n;
      const char* qs = static_cast<const char*>(tr.matrix ? p.w2_qs : p.w_qs);
      const char* src = ok ? qs + static_cast<long long>(tr.row) * kp + kb * kQ8rGroup + c * 16 : qs;
      cp_async_16(w_dst + r * 64 + c * 16, src, ok ? 16 : 0);
    }
  }
#pragma unroll
  for (int i = 0; i < (TILE_N + NTHREADS - 1) / NTHREADS; ++i) {
    const int r = tid + i * NTHREADS;
    if (TILE_N % NTHREADS == 0 || r < TILE_N) {
      const TileRow tr = tile_row<GATED>(n_tile, TILE_N, r);
      const bool ok = tr.row < n;
      const char* d = static_cast<const char*>(tr.matrix ? p.w2_d : p.w_d);
      const char* src = ok ? d + (static_cast<long long>(tr.row) * (kp / 32) + kb * 2) * 2 : d;
      cp_async_4(s_dst + r * 4, src, ok ? 4 : 0);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// mma.sync path (sm_80+): 8 warps, all load, all compute.
template <int K_, int N_, int OUT, int ACT, int HAS_BIAS, int TILE_N, int TILE_M, int WARPS_M, int STAGES>
__device__ __forceinline__ void gemm_mma_sync(const Q8MatmulParams& p, unsigned char* smem_raw) {
  constexpr bool GATED = OUT == kMatmulOutGatedF16;
  constexpr int THREADS = 256, WARPS_N = 8 / WARPS_M;
  constexpr int WR = TILE_N / WARPS_N, WT = TILE_M / WARPS_M;  // one warp's rows, tokens
  constexpr int MT = WR / 16, NT = WT / 8;
  static_assert(8 % WARPS_M == 0 && WR % 16 == 0 && WT % 8 == 0 && STAGES >= 2,
                "gemm_q8_0: tile_n / (8 / warps_m) must be a multiple of 16, tile_m / warps_m of 8");
  using Smem = GemmSmem<TILE_N, TILE_M, STAGES>;

  const TileCoords<K_, N_, TILE_M, 1> tc(p, smem_raw);
  const int k = tc.k, n = tc.n, kp = tc.kp, nkb = tc.nkb, n_tile = tc.n_tile, m0 = tc.m0;
  const bool k_tail = tc.k_tail;
  const u32 a_s = tc.smem + Smem::a_off, w_s = tc.smem + Smem::w_off, s_s = tc.smem + Smem::s_off;

  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, c = lane & 3;
  const int wn = warp / WARPS_M, wm = warp % WARPS_M;

#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < nkb)
      load_stage<GATED, TILE_N, TILE_M, THREADS>(p, n, k, kp, k_tail, m0, n_tile, s, a_s + s * Smem::a_bytes,
                                                 w_s + s * Smem::w_bytes, s_s + s * Smem::s_bytes, tid);
    cp_async_commit();
  }

  float acc[MT][NT][4];
#pragma unroll
  for (int i = 0; i < MT; ++i)
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;

#pragma unroll 1
  for (int kb = 0; kb < nkb; ++kb) {
    cp_async_wait<STAGES - 2>();
    __syncthreads();  // stage kb landed for everyone; stage kb-1 is free for the next load
    {
      const int next = kb + STAGES - 1;
      if (next < nkb) {
        const int s = next % STAGES;
        load_stage<GATED, TILE_N, TILE_M, THREADS>(p, n, k, kp, k_tail, m0, n_tile, next, a_s + s * Smem::a_bytes,
                                                   w_s + s * Smem::w_bytes, s_s + s * Smem::s_bytes, tid);
      }
      cp_async_commit();
    }
    const int s = kb % STAGES;
    const u32 a_t = a_s + s * Smem::a_bytes, w_t = w_s + s * Smem::w_bytes, s_t = s_s + s * Smem::s_bytes;

    uint4 q_lo[MT], q_hi[MT];
    u32 d_lo[MT], d_hi[MT];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
      const int r = wn * WR + mt * 16 + g;
      q_lo[mt] = lds128(w_t + r * 64 + c * 16);
      q_hi[mt] = lds128(w_t + (r + 8) * 64 + c * 16);
      d_lo[mt] = lds32(s_t + r * 4);
      d_hi[mt] = lds32(s_t + (r + 8) * 4);
    }
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      u32 b[NT][4];
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        const int row = wm * WT + nt * 8 + (lane & 7);
        const int chunk = 4 * h + (lane >> 3);
        ldmatrix_x4(a_t + row * 128 + ((chunk ^ (row & 7)) << 4), b[nt]);
      }
#pragma unroll
      for (int jj = 0; jj < 2; ++jj) {
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          u32 af[4];
          q8r_fragment(2 * h + jj, q_lo[mt], q_hi[mt], d_lo[mt], d_hi[mt], af);
#pragma unroll
          for (int nt = 0; nt < NT; ++nt)
            mma_16816(acc[mt][nt], af, b[nt][2 * jj], b[nt][2 * jj + 1]);
        }
      }
    }
  }
  cp_async_wait<0>();

#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
      store_fragment<OUT, ACT, HAS_BIAS>(p, n, p.m, n_tile, TILE_N, wn * WR + mt * 16, m0 + wm * WT + nt * 8,
                                         acc[mt][nt]);
}

// Stores one consumer warp's accumulators (16 tile rows from row0 x TILE_M tokens from m0, the
// wgmma C layout = m16n8 fragments along the tokens). The residual add (add_f32) reads a batch
// of old values before it writes any: one at a time, every read-modify-write paid a full L2
// round trip in series (the compiler cannot move a load above a store to the same array).
template <int OUT, int ACT, int HAS_BIAS, int TILE_M>
__device__ __forceinline__ void store_consumer_tile(const Q8MatmulParams& p, int n, int n_tile, int row0, int m0,
                                                    const float* acc) {
  constexpr int TILE_N = 128;
  if constexpr (OUT == kMatmulOutAddF32) {
    constexpr int BATCH = TILE_M / 8 < 8 ? TILE_M / 8 : 8;  // fragments (4 values each) per batch
    const int lane = threadIdx.x & 31;
    const int f_lo = n_tile * TILE_N + row0 + (lane >> 2), t0 = m0 + 2 * (lane & 3);
    float* out = static_cast<float*>(p.out);
#pragma unroll
    for (int j0 = 0; j0 < TILE_M / 8; j0 += BATCH) {
      float old[4 * BATCH];
#pragma unroll
      for (int i = 0; i < 4 * BATCH; ++i) {
        const int t = t0 + 8 * (j0 + i / 4) + (i & 1), f = f_lo + 8 * ((i >> 1) & 1);
        old[i] = t < p.m && f < n ? out[static_cast<long long>(t) * p.ldo + f] : 0.0f;
      }
#pragma unroll
      for (int i = 0; i < 4 * BATCH; ++i) {
        const int t = t0 + 8 * (j0 + i / 4) + (i & 1), f = f_lo + 8 * ((i >> 1) & 1);
        if (t < p.m && f < n) {
          float v = acc[4 * j0 + i];
          if constexpr (HAS_BIAS) v += p.bias[f];
          out[static_cast<long long>(t) * p.ldo + f] = old[i] + v;
        }
      }
    }
  } else {
#pragma unroll
    for (int jj = 0; jj < TILE_M / 8; ++jj)
      store_fragment<OUT, ACT, HAS_BIAS>(p, n, p.m, n_tile, TILE_N, row0, m0 + 8 * jj, &acc[4 * jj]);
  }
}

// ---------------------------------------------------------------------------------------------
// wgmma path (sm_90a): warpgroup 0 produces, warpgroups 1-2 consume; TILE_N = 128.
template <int K_, int N_, int OUT, int ACT, int HAS_BIAS, int TILE_M, int STAGES, bool NOINC, bool TMA, int CLUSTER>
__device__ __forceinline__ void gemm_wgmma(const Q8MatmulParams& p, unsigned char* smem_raw) {
  constexpr bool GATED = OUT == kMatmulOutGatedF16;
  constexpr int TILE_N = 128;
  // Publishing a stage (full barrier): NOINC = 1, the copies arrive on it themselves
  // (cp.async.mbarrier.arrive.noinc) and each consumer thread fences the generic -> async proxy
  // after its wait; NOINC = 0, the producer waits for its own copies LAG stages behind, fences
  // and arrives. There, consumer iteration j needs producer iteration j + LAG, which needs the
  // slot of consumer iteration j + LAG - STAGES + 1: LAG <= (STAGES - 1) / 2 leaves slack.
  constexpr int LAG = (STAGES - 1) / 2 > 1 ? (STAGES - 1) / 2 : 1;
  static_assert(STAGES >= 3, "gemm_q8_0 (wgmma): stages must be >= 3");
  static_assert(TILE_M % 16 == 0 && TILE_M >= 16 && TILE_M <= 256 && (TILE_M & (TILE_M - 1)) == 0,
                "gemm_q8_0 (wgmma): tile_m must be 16, 32, 64, 128 or 256");
  // CLUSTER > 1 (TMA only): the CTAs of a cluster share the token tile; each loads 1/CLUSTER of
  // its rows per stage and multicasts them to all, so a slot is refilled only once every
  // consumer warp of the cluster released it (the empty barriers count them all).
  static_assert(CLUSTER == 1 || (TMA && (CLUSTER == 2 || CLUSTER == 4) && TILE_M / CLUSTER >= 8),
                "gemm_q8_0 (wgmma): cluster 2 or 4 needs tma = 1 and tile_m / cluster >= 8");
  using Smem = GemmSmem<TILE_N, TILE_M, STAGES>;

  const TileCoords<K_, N_, TILE_M, CLUSTER> tc(p, smem_raw);
  const int k = tc.k, n = tc.n, kp = tc.kp, nkb = tc.nkb, n_tile = tc.n_tile, m0 = tc.m0;
  const bool k_tail = tc.k_tail;
  const u32 a_s = tc.smem + Smem::a_off, w_s = tc.smem + Smem::w_off, s_s = tc.smem + Smem::s_off;
  const u32 full = tc.smem + Smem::bar_off, empty = full + STAGES * 8;  // mbarriers, 8 B each

  if (threadIdx.x == 0) {
#pragma unroll
    for (int s = 0; s < STAGES; ++s) {
      // Every producer thread arrives once its copies landed; with TMA, thread 0 also arrives
      // with the activation tile's byte count, which the TMA unit completes.
      mbar_init(full + s * 8, TMA ? 129 : 128);
      mbar_init(empty + s * 8, 8 * CLUSTER);  // every consumer warp of the cluster, once done with it
    }
    fence_mbarrier_init();
  }
  if constexpr (CLUSTER > 1) cluster_sync();  // no multicast or remote arrival before every init
  else __syncthreads();

  if (threadIdx.x < 128) {
    // ---- producer warpgroup ----
    warpgroup_regs_dec<56>();
    const int tid = threadIdx.x;
#pragma unroll 1
    for (int kb = 0; kb < nkb; ++kb) {
      const int s = kb % STAGES;
      if (TMA) {
        if (kb >= STAGES) mbar_wait(empty + s * 8, ((kb / STAGES) - 1) & 1);
        if (tid == 0) {
          mbar_arrive_expect_tx(full + s * 8, Smem::a_bytes);  // all of it: this CTA's part and the others'
          if constexpr (CLUSTER > 1) {
            constexpr int part = TILE_M / CLUSTER;
            const int rank = static_cast<int>(cluster_ctarank());
            tma_load_2d_multicast(a_s + s * Smem::a_bytes + rank * part * 128, &p.a_map, kb * kQ8rGroup,
                                  m0 + rank * part, full + s * 8, static_cast<unsigned short>((1u << CLUSTER) - 1));
          } else {
            tma_load_2d(a_s + s * Smem::a_bytes, &p.a_map, kb * kQ8rGroup, m0, full + s * 8);
          }
        }
        load_stage<GATED, TILE_N, TILE_M, 128, false>(p, n, k, kp, k_tail, m0, n_tile, kb, a_s + s * Smem::a_bytes,
                                                      w_s + s * Smem::w_bytes, s_s + s * Smem::s_bytes, tid);
        cp_async_arrive_noinc(full + s * 8);
      } else if (NOINC) {
        if (kb >= STAGES) mbar_wait(empty + s * 8, ((kb / STAGES) - 1) & 1);
        load_stage<GATED, TILE_N, TILE_M, 128>(p, n, k, kp, k_tail, m0, n_tile, kb, a_s + s * Smem::a_bytes,
                                               w_s + s * Smem::w_bytes, s_s + s * Smem::s_bytes, tid);
        cp_async_arrive_noinc(full + s * 8);  // the hardware publishes the stage when it lands
      } else {
        // Publish the oldest stage in flight once landed, before blocking for a free slot, so
        // the consumers never wait on a stage the producer cannot issue yet.
        if (kb >= LAG) {
          cp_async_wait<LAG - 1>();
          fence_proxy_async_shared();  // the copies are read by wgmma (async proxy)
          mbar_arrive(full + ((kb - LAG) % STAGES) * 8);
        }
        if (kb >= STAGES) mbar_wait(empty + s * 8, ((kb / STAGES) - 1) & 1);
        load_stage<GATED, TILE_N, TILE_M, 128>(p, n, k, kp, k_tail, m0, n_tile, kb, a_s + s * Smem::a_bytes,
                                               w_s + s * Smem::w_bytes, s_s + s * Smem::s_bytes, tid);
        cp_async_commit();
      }
    }
    if (!NOINC && !TMA) {
      cp_async_wait<0>();
      fence_proxy_async_shared();
#pragma unroll 1
      for (int kb = nkb > LAG ? nkb - LAG : 0; kb < nkb; ++kb) mbar_arrive(full + (kb % STAGES) * 8);
    }
  } else {
    // ---- consumer warpgroups ----
    warpgroup_regs_inc<224>();
    const int cw = (threadIdx.x - 128) >> 5;  // consumer warp 0..7
    const int lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
    const int row0 = (cw >> 2) * 64 + (cw & 3) * 16;  // this warp's 16 rows of the tile
    const int r_lo = row0 + g, r_hi = r_lo + 8;

    float acc[TILE_M / 2];
#pragma unroll
    for (int i = 0; i < TILE_M / 2; ++i) acc[i] = 0.0f;
    u32 frag[2][4][4];  // two stages of A fragments: one read by wgmmas in flight, one being filled

#pragma unroll 1
    for (int kb0 = 0; kb0 < nkb; kb0 += 2) {
#pragma unroll
      for (int b = 0; b < 2; ++b) {
        const int kb = kb0 + b;
        if (kb < nkb) {
          const int s = kb % STAGES;
          mbar_wait(full + s * 8, (kb / STAGES) & 1);
          if (NOINC && !TMA) fence_proxy_async_shared();  // cp.async'ed A, before wgmma reads it
          const u32 w_t = w_s + s * Smem::w_bytes, s_t = s_s + s * Smem::s_bytes;
          const uint4 q_lo = lds128(w_t + r_lo * 64 + c * 16);
          const uint4 q_hi = lds128(w_t + r_hi * 64 + c * 16);
          const u32 d_lo = lds32(s_t + r_lo * 4), d_hi = lds32(s_t + r_hi * 4);
#pragma unroll
          for (int j = 0; j < 4; ++j) q8r_fragment(j, q_lo, q_hi, d_lo, d_hi, frag[b][j]);
          const unsigned long long desc = smem_desc_sw128(a_s + s * Smem::a_bytes);
          wgmma_fence();
#pragma unroll
          for (int j = 0; j < 4; ++j) WgmmaRS<TILE_M>::mma(acc, frag[b][j], desc + 2 * j);  // +32 B per k16
          wgmma_commit();
          wgmma_wait<1>();  // the previous stage's wgmmas are done: release its buffers
          fence_registers(acc);
          if (kb > 0) {
            __syncwarp();
            if (lane == 0) {
              const u32 bar = empty + ((kb - 1) % STAGES) * 8;
              if constexpr (CLUSTER > 1) {
#pragma unroll
                for (int cta = 0; cta < CLUSTER; ++cta) mbar_arrive_cluster(bar, cta);
              } else {
                mbar_arrive(bar);
              }
            }
          }
        }
      }
    }
    wgmma_wait<0>();
    fence_registers(acc);

    store_consumer_tile<OUT, ACT, HAS_BIAS, TILE_M>(p, n, n_tile, row0, m0, acc);
  }
  // The other CTAs still arrive on this one's barriers (and it on theirs) until they finish.
  if constexpr (CLUSTER > 1) cluster_sync();
}

}  // namespace kiln_q8

// Clusters exist from sm_90 on; the mma.sync path (cluster 1) must also build for sm_80.
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define KILN_GEMM_CLUSTER_DIMS(c) __cluster_dims__(c, 1, 1)
#else
#define KILN_GEMM_CLUSTER_DIMS(c)
#endif

// grid.x = ceil(m / tile_m) * (weight tiles: ceil(n / tile_n), gated ceil(n / (tile_n / 2)),
// rounded up to a multiple of cluster); block = 384 threads (wgmma) or 256; dynamic shared
// memory = gemm_q8_0_smem_bytes(...). The cluster size is part of the kernel (__cluster_dims__).
template <int K, int N, int OUT_KIND, int ACT, int HAS_BIAS, int TILE_N, int TILE_M, int WARPS_M, int STAGES,
          int WGMMA, int NOINC, int TMA, int CLUSTER>
__global__ void __launch_bounds__(WGMMA ? 384 : 256, 1) KILN_GEMM_CLUSTER_DIMS(CLUSTER)
    gemm_q8_0(const __grid_constant__ GemmQ8_0Params p) {
  KILN_TRACE_KERNEL();
  kiln_dev::allow_next_kernel_to_launch();
  kiln_dev::wait_for_previous_kernel();
  extern __shared__ unsigned char gemm_q8_0_smem[];
  static_assert(K % 32 == 0, "gemm_q8_0: k must be a multiple of 32");
  if constexpr (WGMMA) {
    static_assert(TILE_N == 128, "gemm_q8_0 (wgmma): tile_n must be 128");
    kiln_q8::gemm_wgmma<K, N, OUT_KIND, ACT, HAS_BIAS, TILE_M, STAGES, NOINC != 0, TMA != 0, CLUSTER>(p,
                                                                                                gemm_q8_0_smem);
  } else {
    static_assert(CLUSTER == 1, "gemm_q8_0 (mma.sync): cluster must be 1");
    kiln_q8::gemm_mma_sync<K, N, OUT_KIND, ACT, HAS_BIAS, TILE_N, TILE_M, WARPS_M, STAGES>(p, gemm_q8_0_smem);
  }
}
