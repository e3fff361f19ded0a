#pragma once
// Warp-specialized flash attention for prefill at head_dim 128 on sm_90a (FlashAttention-3's
// schedule, with cp.async in place of TMA): the work split, masking, key splits and outputs of
// attn_prefill.cuh's wide wgmma path (WGMMA 1: 128 rows x 128 keys per CTA iteration), with the
// work of each iteration spread differently over the CTA's warps:
// - a producer warpgroup (warps 0-3, its registers given to the others) copies each iteration's
//   K and V tiles into a ring of three stages with cp.async, zero-filled past the sequence, and
//   signals each stage on its "full" mbarrier once the copies have landed;
// - two consumer warpgroups (64 query rows each) wait on "full", compute, and give the stage back
//   on its "empty" mbarrier: no CTA-wide barrier in the loop, so they drift apart and one's
//   softmax runs while the other's products keep the tensor cores busy (forcing them to take
//   turns with named barriers, as FlashAttention-3 does, was 27% slower here: notes/attention.md);
// - within a warpgroup, P V of this tile and S = Q K^T of the next go to the tensor cores
//   together, then the softmax makes the next P (issuing S first and running the softmax under
//   P V, FlashAttention-3's intra-warpgroup overlap, was 22% slower: notes/attention.md v8);
// - S takes all 128 keys in one m64n128k16 per k16 step, A (Q) from registers: the tensor cores
//   then read only K from shared memory (Q by descriptor too read 128 B per cycle, the bandwidth
//   of shared memory, and was 20% slower).
// Constants as attn_prefill's; WARPS (consumer warps) must be 8 and WGMMA 3 (this variant).
#include "attn_prefill_common.cuh"

template <int HEAD_DIM, int GQA, int N_KV_HEADS, int WINDOW, int PAGE_SIZE, int SINKS, int WARPS, int WGMMA>
__global__ void __launch_bounds__(WARPS * 32 + 128, 1) attn_prefill_ws(const __grid_constant__ AttnParams p) {
  KILN_TRACE_KERNEL();
  kiln_dev::allow_next_kernel_to_launch();
  kiln_dev::wait_for_previous_kernel();
  using namespace kiln_attn;
  using kiln_dev::f16_bits;
  static_assert(HEAD_DIM == 128 && WARPS == 8 && WGMMA == 3, "attn_prefill_ws: head_dim 128, 8 consumer warps");
  constexpr int D = HEAD_DIM;
  constexpr int BLOCK_M = WARPS * 16;
  constexpr int BN = 2 * kAttnTileKeys;  // keys per iteration
  constexpr int CHUNKS = D / 8;          // 16-byte chunks per row
  constexpr int KSTEPS = D / 16;         // k16 steps of Q K^T
  constexpr int OTILES = D / 8;          // n8 tiles of the O accumulator
  constexpr int STILES = BN / 8;         // n8 tiles of S
  constexpr int TILE_BYTES = BN * D * 2;
  constexpr int STAGES = kAttnWsStages;
  constexpr int PRODUCER_THREADS = 128;

  const PrefillWork<GQA, N_KV_HEADS, WINDOW, PAGE_SIZE, BLOCK_M, BN> w(p);
  if (w.empty()) return;

  extern __shared__ __align__(128) unsigned char smem[];
  const u32 q_smem = (smem_u32(smem) + 1023u) & ~1023u;  // the swizzle pattern repeats every 1024 B
  const u32 k_smem = q_smem + BLOCK_M * D * 2;
  const u32 v_smem = k_smem + STAGES * TILE_BYTES;
  const u32 full_bar = v_smem + STAGES * TILE_BYTES;  // STAGES mbarriers, then STAGES "empty" ones
  const u32 empty_bar = full_bar + STAGES * 8;

  if (threadIdx.x == 0) {
    for (int s = 0; s < STAGES; ++s) {
      mbar_init(full_bar + 8 * s, PRODUCER_THREADS);  // each producer thread's copies
      mbar_init(empty_bar + 8 * s, WARPS);            // each consumer warp done with the stage
    }
  }
  __syncthreads();

  if (threadIdx.x < PRODUCER_THREADS) {
    // The producer: 24 registers (address arithmetic only), the rest to the consumers (240).
    asm volatile("setmaxnreg.dec.sync.aligned.u32 24;");
    const f16_bits* k_pool = static_cast<const f16_bits*>(p.k_pool);
    const f16_bits* v_pool = static_cast<const f16_bits*>(p.v_pool);
    const int limit = min(w.kv_len, w.tile_end * kAttnTileKeys);
    for (int it = 0; it < w.n_iters; ++it) {
      const int stage = it % STAGES;
      if (it >= STAGES) mbar_wait(empty_bar + 8 * stage, (it / STAGES - 1) & 1);
#pragma unroll
      for (int part = 0; part < BN / kAttnTileKeys; ++part) {
        const int kp = w.k_first + it * BN + part * kAttnTileKeys;
        load_kv_part<D, PRODUCER_THREADS, BN>(k_smem + stage * TILE_BYTES, k_pool, w.page_row, kp, limit,
                                              part * kAttnTileKeys, w.kv_head, w.n_kv_heads, w.page_size);
        load_kv_part<D, PRODUCER_THREADS, BN>(v_smem + stage * TILE_BYTES, v_pool, w.page_row, kp, limit,
                                              part * kAttnTileKeys, w.kv_head, w.n_kv_heads, w.page_size);
      }
      cp_async_arrive_noinc(full_bar + 8 * stage);
    }
    return;
  }

  asm volatile("setmaxnreg.inc.sync.aligned.u32 240;");
  const int warp = threadIdx.x / 32 - PRODUCER_THREADS / 32;  // consumer warp 0..7: rows 16 warp ..
  const int lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;
  // Byte offset of chunk `chunk` of row `row` of the Q tile: D / 64 blocks of [BLOCK_M][64] in
  // the 128-byte swizzle layout, as the K/V tiles (conflict-free ldmatrix).
  const auto q_offset = [](int row, int chunk) {
    return static_cast<u32>((chunk / 8) * BLOCK_M * 128 + row * 128 + (((chunk % 8) ^ (row & 7)) << 4));
  };

  // This warp's 16 Q rows (padding rows past n_rows are zero), which only this warp reads.
  const f16_bits* q = static_cast<const f16_bits*>(p.q);
#pragma unroll
  for (int it = 0; it < 16 * CHUNKS / 32; ++it) {
    const int i = it * 32 + lane;
    const int row = warp * 16 + i / CHUNKS, chunk = i % CHUNKS;
    const int r = w.r0 + row;
    const bool valid = r < w.n_rows;
    const int token = r / w.gqa, head = w.kv_head * w.gqa + r % w.gqa;
    const f16_bits* src = q + (static_cast<long long>(w.q_begin + token) * w.n_heads + head) * D + chunk * 8;
    cp_async_16(q_smem + q_offset(row, chunk), valid ? src : q, valid ? 16 : 0);
  }
  cp_async_commit();
  cp_async_wait<0>();
  __syncwarp();

  int row_pos[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) row_pos[h] = w.row_pos(warp * 16 + g + 8 * h);

  float o[OTILES][4];
#pragma unroll
  for (int i = 0; i < OTILES; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
  float m[2] = {neg_inf(), neg_inf()};
  float l[2] = {0.f, 0.f};
  const float scale = p.scale_log2;
  float s[STILES][4];
  u32 pa[BN / 16][4];

  // Q fragments (m16n8k16 A layout, the warp's 16 rows), kept for the whole loop: S reads A from
  // registers, so the tensor cores read only K from shared memory (with Q from shared memory
  // too, two m64n64k16 a k16 step read 128 B per cycle, the bandwidth of shared memory).
  u32 qf[KSTEPS][4];
#pragma unroll
  for (int kk = 0; kk < KSTEPS; ++kk)
    ldmatrix_x4(q_smem + q_offset(warp * 16 + lane % 16, 2 * kk + lane / 16), qf[kk]);
  // S = Q K^T of the tile in `stage` (issued, not waited for).
  const auto issue_s = [&](int stage) {
    const u32 ks = k_smem + stage * TILE_BYTES;
#pragma unroll
    for (int i = 0; i < STILES; ++i) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f;
    pin_registers<STILES * 4>(&s[0][0]);
    pin_fragments<KSTEPS>(qf);
    wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < KSTEPS; ++kk)
      wgmma_m64n128k16<0>(&s[0][0], qf[kk], desc_sw128_strides(ks + (kk / 4) * BN * 128 + (kk % 4) * 32, 1024, 1024));
  };
  const auto full_wait = [&](int it) {
    mbar_wait(full_bar + 8 * (it % STAGES), (it / STAGES) & 1);
    fence_proxy_async_shared();  // the producer's cp.async writes, before the tensor cores read them
  };

  // Softmax of S (iteration `it`'s scores) in place: masks the keys a row must not see, updates
  // the running max m and sum l, and leaves 2^(s * scale - m) in s; returns the factor O must be
  // rescaled by (alpha, per row of the thread). Rows g and g + 8 of the warp's 16, a row over a
  // quad (attn_prefill's softmax).
  const auto softmax = [&](int it, float (&alpha)[2]) {
    const int k0 = w.k_first + it * BN;
    if (w.edge(k0)) mask_scores(s, k0, t, row_pos, w.window);
    float m_use[2];
    update_row_max(s, scale, m, l, m_use, alpha);
#pragma unroll
    for (int nt = 0; nt < STILES; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        s[nt][e] = ex2(fmaf(s[nt][e], scale, -m_use[e >> 1]));
        l[e >> 1] += s[nt][e];
      }
  };
  // O *= alpha, and P (the f16 A fragments of P V) from s.
  const auto rescale_and_pack = [&](const float (&alpha)[2]) {
#pragma unroll
    for (int i = 0; i < OTILES; ++i)
#pragma unroll
      for (int e = 0; e < 4; ++e) o[i][e] *= alpha[e >> 1];
#pragma unroll
    for (int nt = 0; nt < STILES; ++nt) {
      pa[nt / 2][(nt % 2) * 2 + 0] = pack_f16x2(s[nt][0], s[nt][1]);
      pa[nt / 2][(nt % 2) * 2 + 1] = pack_f16x2(s[nt][2], s[nt][3]);
    }
  };

  float alpha[2];
  if (w.n_iters > 0) {
    full_wait(0);
    issue_s(0);
    wgmma_commit();
    wgmma_wait_all();
    pin_registers<STILES * 4>(&s[0][0]);
    softmax(0, alpha);
    rescale_and_pack(alpha);
  }
  // Iteration it: P of tile it is in pa. P V of tile it and S of tile it + 1 go to the tensor
  // cores together; once both are done the stage is given back, and the softmax of S makes P of
  // tile it + 1.
  for (int it = 0; it < w.n_iters; ++it) {
    const int stage = it % STAGES;
    const bool next = it + 1 < w.n_iters;
    if (next) full_wait(it + 1);
    pin_fragments<BN / 16>(pa);
    pin_registers<OTILES * 4>(&o[0][0]);
    wgmma_fence();
    const u32 vs = v_smem + stage * TILE_BYTES;
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk)
      wgmma_m64n128k16<1>(&o[0][0], pa[kk], desc_sw128_strides(vs + kk * 2048, BN * 128, 1024));
    if (next) issue_s((it + 1) % STAGES);
    wgmma_commit();
    wgmma_wait_all();
    pin_registers<OTILES * 4>(&o[0][0]);
    pin_registers<STILES * 4>(&s[0][0]);
    pin_fragments<BN / 16>(pa);
    __syncwarp();
    if (lane == 0) mbar_arrive(empty_bar + 8 * stage);
    if (next) {
      softmax(it + 1, alpha);
      rescale_and_pack(alpha);
    }
  }

  // The warp's rows staged in its own rows of the Q tile (no wgmma reads them any more; the other
  // warpgroup's rows are elsewhere).
  finish_rows<D, BLOCK_M, SINKS>(p, w.rows(), o, m, l, warp, q_smem, q_offset);
}
