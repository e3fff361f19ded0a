#pragma once
// Flash attention (FlashAttention-2 schedule) over the paged f16 KV cache, for many query tokens
// per sequence: causal, optional sliding window, optional sinks, GQA.
//
// Work split (attn_prefill_common.cuh, PrefillWork): one CTA = one KV head x BLOCK_M = 16 * WARPS
// query rows of one sequence, where the rows are the (token, head) pairs of the gqa query heads
// sharing that KV head, token-major (row r: token r / gqa, head kv_head * gqa + r % gqa). Every
// K/V tile is read once for all of them. grid = (row tiles of the longest sequence x splits,
// n_kv_heads, n_seqs); the last row tiles, which see the most keys under the causal mask, are
// started first. With splits > 1
// (few row tiles, long contexts: engine/attention.h) the CTAs of a row tile take consecutive
// shares of its key iterations and leave O, max and sum unnormalized for attn_prefill_combine.
// Per CTA: Q tile -> shared memory (-> registers when head_dim <= 128); then over 64-key tiles
// (128 on the wide wgmma path; cp.async, three stages where they fit, else two, one CTA barrier
// an iteration): S = Q K^T on mma.sync m16n8k16, mask only on tiles that cross the causal or
// window edge, online softmax in registers (log2 units), O += P V. Tiles wholly before the window
// or after the last row's position are skipped.
//
// Constants (template order): HEAD_DIM (64/128/256; always compiled in, see below), GQA,
// N_KV_HEADS, WINDOW (-1: none, > 0: window), PAGE_SIZE: shape constants, 0 = read from params
// (the generic build). SINKS (0/1): variant. WARPS: tuning (4 or 8). WGMMA: tuning, sm_90a only:
// the two products run as warpgroup wgmma.mma_async m64n64k16 with A (Q, then P) from the same
// registers the mma.sync path uses and B (K K-major, V MN-major) from shared memory in the
// 128-byte swizzle layout; softmax, masking and the epilogue are shared. WGMMA 1 at head_dim 128
// takes 128 keys (two 64-key tiles) per iteration and runs P V as one m64n128k16 per 16 keys
// (half the barriers and waits per key); WGMMA 2 (and 1 at head_dim 256, whose registers are
// full) is the 64-key schedule of notes/attention.md v3.
// WGMMA 3 (head_dim 128, 8 warps, the default there) is attn_prefill_ws.cuh, the warp-specialized
// kernel.
// Why head_dim is never dynamic: it sizes the register arrays (Q fragments, S, the O
// accumulator: 16 x head_dim per warp). A run-time head_dim would need arrays for the largest
// (256), 4x the registers of a 64-dim head, and spills; every hand-written library (FA2/3,
// llama.cpp) instantiates per head size too. So the generic build keeps it and makes dynamic
// what a library would: GQA ratio, head counts, window, page size.
#include "attn_prefill_common.cuh"

template <int HEAD_DIM, int GQA, int N_KV_HEADS, int WINDOW, int PAGE_SIZE, int SINKS, int WARPS, int WGMMA>
__global__ void __launch_bounds__(WARPS * 32, 1) attn_prefill(const __grid_constant__ AttnParams p) {
  KILN_TRACE_KERNEL();
  kiln_dev::allow_next_kernel_to_launch();
  kiln_dev::wait_for_previous_kernel();
  using namespace kiln_attn;
  using kiln_dev::f16_bits;
  static_assert(HEAD_DIM == 64 || HEAD_DIM == 128 || HEAD_DIM == 256, "attn_prefill: head_dim 64, 128 or 256");
  static_assert(WARPS == 4 || WARPS == 8, "attn_prefill: 4 or 8 warps");
  constexpr int D = HEAD_DIM;
  constexpr int THREADS = WARPS * 32;
  constexpr int BLOCK_M = WARPS * 16;
  // WIDE (wgmma 1 at head_dim 128): 128 keys per iteration (two 64-key tiles, two pages at
  // most) and P V on m64n128k16 (all 128 dims in one product).
  constexpr bool WIDE = WGMMA == 1 && HEAD_DIM == 128;
  constexpr int BN = WIDE ? 2 * kAttnTileKeys : kAttnTileKeys;  // keys per iteration
  constexpr int CHUNKS = D / 8;           // 16-byte chunks per row
  constexpr int KSTEPS = D / 16;          // k16 steps of Q K^T
  constexpr int OTILES = D / 8;           // n8 tiles of the O accumulator
  constexpr int STILES = BN / 8;          // n8 tiles of S
  constexpr bool Q_IN_REGS = D <= 128;    // 256: 64 more registers would spill; re-read from smem
  constexpr int TILE_BYTES = BN * D * 2;
  constexpr int STAGES = attn_prefill_stages(D, WARPS, WGMMA);

  const PrefillWork<GQA, N_KV_HEADS, WINDOW, PAGE_SIZE, BLOCK_M, BN> w(p);
  if (w.empty()) return;

  extern __shared__ __align__(128) unsigned char smem[];
  // wgmma's swizzle pattern repeats every 1024 B: start the tiles on such a boundary (the
  // launch adds 1024 B of slack).
  const u32 q_smem = WGMMA ? (smem_u32(smem) + 1023u) & ~1023u : smem_u32(smem);
  const u32 k_smem = q_smem + BLOCK_M * D * 2;
  const u32 v_smem = k_smem + STAGES * TILE_BYTES;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;  // mma fragment coordinates: row group, thread in quad

  // Q tile (padding rows past n_rows read nothing and are zero).
  const f16_bits* q = static_cast<const f16_bits*>(p.q);
#pragma unroll
  for (int it = 0; it < BLOCK_M * CHUNKS / THREADS; ++it) {
    const int i = it * THREADS + threadIdx.x;
    const int row = i / CHUNKS, chunk = i % CHUNKS;
    const int r = w.r0 + row;
    const bool valid = r < w.n_rows;
    const int token = r / w.gqa, head = w.kv_head * w.gqa + r % w.gqa;
    const f16_bits* src = q + (static_cast<long long>(w.q_begin + token) * w.n_heads + head) * D + chunk * 8;
    cp_async_16(q_smem + tile_offset<D>(row, chunk), valid ? src : q, valid ? 16 : 0);
  }
  const f16_bits* k_pool = static_cast<const f16_bits*>(p.k_pool);
  const f16_bits* v_pool = static_cast<const f16_bits*>(p.v_pool);
  // Keys of iteration `it`: [k_first + it * BN, + BN).
  auto load_tile = [&](int it, int stage) {
    const int k0 = w.k_first + it * BN;
    if constexpr (WIDE) {
      const int limit = min(w.kv_len, w.tile_end * kAttnTileKeys);
#pragma unroll
      for (int part = 0; part < BN / kAttnTileKeys; ++part) {
        const int kp = k0 + part * kAttnTileKeys;
        load_kv_part<D, THREADS, BN>(k_smem + stage * TILE_BYTES, k_pool, w.page_row, kp, limit, part * kAttnTileKeys,
                                     w.kv_head, w.n_kv_heads, w.page_size);
        load_kv_part<D, THREADS, BN>(v_smem + stage * TILE_BYTES, v_pool, w.page_row, kp, limit, part * kAttnTileKeys,
                                     w.kv_head, w.n_kv_heads, w.page_size);
      }
    } else {
      load_kv_tile<D, THREADS, WGMMA>(k_smem + stage * TILE_BYTES, k_pool, w.page_row, k0, w.kv_len, w.kv_head,
                                      w.n_kv_heads, w.page_size);
      load_kv_tile<D, THREADS, WGMMA>(v_smem + stage * TILE_BYTES, v_pool, w.page_row, k0, w.kv_len, w.kv_head,
                                      w.n_kv_heads, w.page_size);
    }
  };
  // The first STAGES - 1 iterations' tiles (the first group also carries the Q tile).
#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < w.n_iters) load_tile(s, s);
    cp_async_commit();  // empty groups keep the wait counts uniform
  }

  // Positions of this thread's two rows (g and g + 8 of the warp's 16); padding rows take the
  // last row's, so they see keys and stay finite (never stored).
  int row_pos[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) row_pos[h] = w.row_pos(warp * 16 + g + 8 * h);

  // ldmatrix lane addressing (see the fragment layouts of mma.m16n8k16):
  //   A (Q, row-major 16x16):     lane -> row lane % 16, chunk + lane / 16
  //   B (K, "col" = K rows):      lane -> key (lane % 8) + 8 (lane / 16), chunk + (lane / 8) % 2
  //   B (V, row-major, .trans):   lane -> key (lane % 8) + 8 ((lane / 8) % 2), chunk + lane / 16
  const int a_row = warp * 16 + lane % 16, a_chunk = lane / 16;
  const int kb_row = lane % 8 + 8 * (lane / 16), kb_chunk = (lane / 8) % 2;
  const int vb_row = lane % 8 + 8 * ((lane / 8) % 2), vb_chunk = lane / 16;

  // Q fragments: kept for the whole loop when head_dim <= 128; otherwise re-read per tile (the
  // wgmma path then holds one tile's worth until the wait).
  u32 qf[(Q_IN_REGS || WGMMA) ? KSTEPS : 1][4];
  if constexpr (Q_IN_REGS) {
    cp_async_wait<STAGES - 2>();  // the first group: Q
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < KSTEPS; ++kk) ldmatrix_x4(q_smem + tile_offset<D>(a_row, 2 * kk + a_chunk), qf[kk]);
  }

  float o[OTILES][4];
#pragma unroll
  for (int i = 0; i < OTILES; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
  float m[2] = {neg_inf(), neg_inf()};  // running max of the scaled scores (log2 units)
  float l[2] = {0.f, 0.f};              // this thread's part of the running denominator
  const float scale = p.scale_log2;

  for (int it = 0; it < w.n_iters; ++it) {
    const int stage = it % STAGES;
    cp_async_wait<STAGES - 2>();                // this thread's copies of iteration it's tiles
    if constexpr (WGMMA) fence_proxy_async_shared();  // the tile's cp.async writes, before wgmma reads them
    // Everyone's copies are in, and everyone is done with iteration it - 1 (its wgmma waited):
    // its stage takes the load below. One barrier an iteration.
    __syncthreads();
    if (it + STAGES - 1 < w.n_iters) load_tile(it + STAGES - 1, (it + STAGES - 1) % STAGES);
    cp_async_commit();
    const u32 ks = k_smem + stage * TILE_BYTES, vs = v_smem + stage * TILE_BYTES;

    // S = Q K^T (16 rows x 64 keys per warp).
    float s[STILES][4];
#pragma unroll
    for (int i = 0; i < STILES; ++i) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f;
    if constexpr (WGMMA) {
      pin_registers<STILES * 4>(&s[0][0]);
      if constexpr (Q_IN_REGS) pin_fragments<KSTEPS>(qf);
      wgmma_fence();
    }
#pragma unroll
    for (int kk = 0; kk < KSTEPS; ++kk) {
      u32 a[4];
      if constexpr (Q_IN_REGS) {
#pragma unroll
        for (int i = 0; i < 4; ++i) a[i] = qf[kk][i];
      } else if constexpr (WGMMA) {
        ldmatrix_x4(q_smem + tile_offset<D>(a_row, 2 * kk + a_chunk), qf[kk]);
        pin_fragments<1>(&qf[kk]);
        wgmma_fence();  // A registers written just now
      } else {
        ldmatrix_x4(q_smem + tile_offset<D>(a_row, 2 * kk + a_chunk), a);
      }
      if constexpr (WGMMA) {
        // B = the 64 keys x 16 dims of this step: K-major, 32 B per step inside a 64-dim block.
        // (WIDE: two products of 64 keys, 8 KB apart in a 64-dim block. One m64n128k16 here
        // together with the one of P V gave wrong results, each alone right: notes/attention.md.)
#pragma unroll
        for (int half = 0; half < BN / 64; ++half)
          wgmma_m64n64k16<0>(&s[8 * half][0], qf[kk],
                             desc_sw128(ks + (kk / 4) * BN * 128 + half * 64 * 128 + (kk % 4) * 32));
      } else {
#pragma unroll
        for (int nn = 0; nn < STILES / 2; ++nn) {
          u32 b[4];
          ldmatrix_x4(ks + tile_offset<D>(nn * 16 + kb_row, 2 * kk + kb_chunk), b);
          mma_16816(s[2 * nn], a, b[0], b[1]);
          mma_16816(s[2 * nn + 1], a, b[2], b[3]);
        }
      }
    }
    if constexpr (WGMMA) {
      wgmma_commit();
      wgmma_wait_all();
      pin_registers<STILES * 4>(&s[0][0]);
      pin_fragments<KSTEPS>(qf);
    }

    // Mask only where the tile crosses an edge of some row's visible range (PrefillWork::edge).
    const int k0 = w.k_first + it * BN;
    if (w.edge(k0)) mask_scores(s, k0, t, row_pos, w.window);

    // Online softmax: each thread holds rows g (h = 0) and g + 8 (h = 1); a row's 64 scores are
    // spread over the 4 threads of a quad.
    float m_use[2], alpha[2];
    update_row_max(s, scale, m, l, m_use, alpha);
#pragma unroll
    for (int i = 0; i < OTILES; ++i)
#pragma unroll
      for (int e = 0; e < 4; ++e) o[i][e] *= alpha[e >> 1];
    // P = 2^(s * scale - m), packed to f16 as the A fragments of P V.
    u32 pa[BN / 16][4];
#pragma unroll
    for (int nt = 0; nt < STILES; ++nt) {
      const float p0 = ex2(fmaf(s[nt][0], scale, -m_use[0])), p1 = ex2(fmaf(s[nt][1], scale, -m_use[0]));
      const float p2 = ex2(fmaf(s[nt][2], scale, -m_use[1])), p3 = ex2(fmaf(s[nt][3], scale, -m_use[1]));
      l[0] += p0 + p1;
      l[1] += p2 + p3;
      pa[nt / 2][(nt % 2) * 2 + 0] = pack_f16x2(p0, p1);
      pa[nt / 2][(nt % 2) * 2 + 1] = pack_f16x2(p2, p3);
    }

    // O += P V.
    if constexpr (WGMMA) {
      // B = 16 keys x 64 dims of V, MN-major: one descriptor per 64-dim block (8 KB apart), 16
      // keys = 2048 B per step.
      pin_fragments<BN / 16>(pa);
      pin_registers<OTILES * 4>(&o[0][0]);
      wgmma_fence();
      if constexpr (WIDE) {
        // All 128 dims in one product: the two 64-dim blocks are BN * 128 B apart.
#pragma unroll
        for (int kk = 0; kk < BN / 16; ++kk)
          wgmma_m64n128k16<1>(&o[0][0], pa[kk], desc_sw128_strides(vs + kk * 2048, BN * 128, 1024));
      } else {
#pragma unroll
        for (int kk = 0; kk < BN / 16; ++kk)
#pragma unroll
          for (int blk = 0; blk < D / 64; ++blk)
            wgmma_m64n64k16<1>(&o[8 * blk][0], pa[kk], desc_sw128(vs + blk * BN * 128 + kk * 2048));
      }
      wgmma_commit();
      wgmma_wait_all();
      pin_registers<OTILES * 4>(&o[0][0]);
      pin_fragments<BN / 16>(pa);  // P stays untouched until the tensor cores are done with it
    } else {
#pragma unroll
      for (int kk = 0; kk < BN / 16; ++kk) {
#pragma unroll
        for (int dd = 0; dd < OTILES / 2; ++dd) {
          u32 b[4];
          ldmatrix_x4_trans(vs + tile_offset<D>(kk * 16 + vb_row, 2 * dd + vb_chunk), b);
          mma_16816(o[2 * dd], pa[kk], b[0], b[1]);
          mma_16816(o[2 * dd + 1], pa[kk], b[2], b[3]);
        }
      }
    }
  }

  cp_async_wait<0>();  // nothing in flight into shared memory when the CTA ends
  // The warp's rows staged in its own rows of the Q tile.
  finish_rows<D, BLOCK_M, SINKS>(p, w.rows(), o, m, l, warp, q_smem,
                                 [](int row, int chunk) { return tile_offset<D>(row, chunk); });
}
