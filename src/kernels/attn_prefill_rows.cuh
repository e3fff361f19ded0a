#pragma once
// What the two prefill attention kernels (attn_prefill.cuh, attn_prefill_ws.cuh) do alike with a
// warp's 16 query rows: mask a tile of scores, and write the rows at the end. A thread holds rows
// g = lane / 4 and g + 8 of its warp's 16, in the m16n8 C fragment layout (element e of n8 tile
// nt: row g + 8 (e / 2), column 8 nt + 2 (lane % 4) + e % 2).
#include "attn_common.cuh"

namespace kiln_attn {

// Masks the scores of the keys [k0, k0 + 8 STILES) a row must not see: keys after its position
// row_pos (causal; this also covers keys >= kv_len) or, with a window, window or more before it.
template <int STILES>
__device__ __forceinline__ void mask_scores(float (&s)[STILES][4], int k0, int t, const int (&row_pos)[2],
                                            int window) {
#pragma unroll
  for (int nt = 0; nt < STILES; ++nt)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int key = k0 + nt * 8 + 2 * t + (e & 1);
      const int pos = row_pos[e >> 1];
      if (key > pos || (window && pos - key >= window)) s[nt][e] = neg_inf();
    }
}

// Where a CTA's rows go: the row tile [r0, r0 + BLOCK_M) of rows (token, head) = (r / gqa,
// kv_head gqa + r % gqa) of one sequence, n_rows of them; `part` indexes its partials when the
// row tile's keys are split (splits > 1).
struct PrefillRows {
  int r0, n_rows, q_begin, kv_head, gqa, n_heads;
  int splits;
  long long part;
};

// The end of a warp (rows 16 warp .. 16 warp + 15 of the CTA's tile): with key splits, O, the
// running max m and the row sums l unnormalized for attn_prefill_combine; else O / l (sinks join
// the sum, in log2 units) as f16, staged in the warp's own 16 rows of a shared-memory tile
// (`stage` + offset(row, 16-byte chunk)) and stored 16 bytes at a time.
template <int D, int BLOCK_M, int SINKS, class Offset>
__device__ __forceinline__ void finish_rows(const AttnParams& p, const PrefillRows& rows, const float (&o)[D / 8][4],
                                            const float (&m)[2], const float (&l)[2], int warp, u32 stage,
                                            Offset offset) {
  constexpr int CHUNKS = D / 8;
  const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  float sum[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    sum[h] = l[h];
    sum[h] += __shfl_xor_sync(0xffffffffu, sum[h], 1);
    sum[h] += __shfl_xor_sync(0xffffffffu, sum[h], 2);
  }
  if (rows.splits > 1) {
    // A split with no iterations writes m = -inf, l = 0; padding rows too (the combine skips them).
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int row = warp * 16 + g + 8 * h;
      float* o_row = p.partial_o + (rows.part * BLOCK_M + row) * D;
#pragma unroll
      for (int i = 0; i < D / 8; ++i)
        *reinterpret_cast<float2*>(o_row + 8 * i + 2 * t) = make_float2(o[i][2 * h], o[i][2 * h + 1]);
      if (t == 0)
        *reinterpret_cast<float2*>(p.partial_ml + (rows.part * BLOCK_M + row) * 2) = make_float2(m[h], sum[h]);
    }
    return;
  }
  float inv_l[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    if constexpr (SINKS) {
      const int r = min(rows.r0 + warp * 16 + g + 8 * h, rows.n_rows - 1);
      sum[h] += ex2(p.sinks[rows.kv_head * rows.gqa + r % rows.gqa] * kLog2e - m[h]);
    }
    inv_l[h] = 1.f / sum[h];
  }
  __syncwarp();
#pragma unroll
  for (int i = 0; i < D / 8; ++i)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int row = warp * 16 + g + 8 * h;
      const u32 v = pack_f16x2(o[i][2 * h] * inv_l[h], o[i][2 * h + 1] * inv_l[h]);
      asm volatile("st.shared.u32 [%0], %1;" ::"r"(stage + offset(row, i) + t * 4), "r"(v) : "memory");
    }
  __syncwarp();
  kiln_dev::f16_bits* out = static_cast<kiln_dev::f16_bits*>(p.out);
#pragma unroll
  for (int it = 0; it < 16 * CHUNKS / 32; ++it) {
    const int i = it * 32 + lane;
    const int row = i / CHUNKS, chunk = i % CHUNKS;
    const int r = rows.r0 + warp * 16 + row;
    if (r >= rows.n_rows) continue;
    const int token = r / rows.gqa, head = rows.kv_head * rows.gqa + r % rows.gqa;
    uint4 v;
    asm volatile("ld.shared.v4.u32 {%0, %1, %2, %3}, [%4];"
                 : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
                 : "r"(stage + offset(warp * 16 + row, chunk)));
    *reinterpret_cast<uint4*>(out + (static_cast<long long>(rows.q_begin + token) * rows.n_heads + head) * D +
                              chunk * 8) = v;
  }
}

}  // namespace kiln_attn
