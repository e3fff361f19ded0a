#pragma once
// The second half of a key-split prefill (attn_prefill.cuh with splits > 1): per query
// row, the splits' unnormalized O, max m and sum l (log2 units) merge into the softmax over all
// keys, out = sum_s 2^(m_s - M) O_s / (sum_s 2^(m_s - M) l_s (+ 2^(sink - M))), M = max_s m_s,
// written as f16 like attn_prefill's own rows.
// grid = (row tiles x BLOCK_M / 4, n_kv_heads, n_seqs), 4 warps: one query row per warp (the
// splits' loads of a row all in flight together), head_dim / 32 dims per lane.
// Constants: HEAD_DIM (always compiled in), GQA, N_KV_HEADS (shape, 0: from params), SINKS
// (variant), BLOCK_M (tuning: attn_prefill's rows per CTA, 16 x its warps).
#include "attn_common.cuh"

template <int HEAD_DIM, int GQA, int N_KV_HEADS, int SINKS, int BLOCK_M>
__global__ void __launch_bounds__(128) attn_prefill_combine(const __grid_constant__ AttnParams p) {
  KILN_TRACE_KERNEL();
  kiln_dev::allow_next_kernel_to_launch();
  kiln_dev::wait_for_previous_kernel();
  using namespace kiln_attn;
  constexpr int D = HEAD_DIM, PER_LANE = D / 32;
  static_assert(D % 64 == 0, "attn_prefill_combine: head_dim a multiple of 64");
  const int gqa = GQA ? GQA : p.gqa;
  const int n_kv_heads = N_KV_HEADS ? N_KV_HEADS : p.n_kv_heads;
  static_assert(kAttnPrefillMaxSplits == 2, "attn_prefill_combine: loads two splits at most");
  const int splits = p.splits;
  const int seq = blockIdx.z, kv_head = blockIdx.y;
  const int tile = blockIdx.x / (BLOCK_M / 4), n_tiles = gridDim.x / (BLOCK_M / 4);
  const int row = blockIdx.x % (BLOCK_M / 4) * 4 + threadIdx.x / 32, lane = threadIdx.x % 32;
  const int q_begin = p.q_start[seq];
  const int r = tile * BLOCK_M + row;
  if (r >= (p.q_start[seq + 1] - q_begin) * gqa) return;
  const int token = r / gqa, head = kv_head * gqa + r % gqa;
  const long long part0 = ((static_cast<long long>(seq) * n_kv_heads + kv_head) * n_tiles + tile) * splits;

  float2 ml[2];
  float o[2][PER_LANE];
#pragma unroll
  for (int s = 0; s < 2; ++s) {
    const long long at = (part0 + s) * BLOCK_M + row;
    ml[s] = s < splits ? *reinterpret_cast<const float2*>(p.partial_ml + at * 2) : make_float2(neg_inf(), 0.f);
#pragma unroll
    for (int i = 0; i < PER_LANE; i += 2) {
      const float2 v = s < splits ? *reinterpret_cast<const float2*>(p.partial_o + at * D + lane * PER_LANE + i)
                                  : make_float2(0.f, 0.f);
      o[s][i] = v.x;
      o[s][i + 1] = v.y;
    }
  }
  const float big = fmaxf(ml[0].x, ml[1].x);
  float sum = 0.f, w[2];
#pragma unroll
  for (int s = 0; s < 2; ++s) {
    w[s] = ml[s].x == neg_inf() ? 0.f : ex2(ml[s].x - big);  // a split that saw no key of the row: 0
    sum += w[s] * ml[s].y;
  }
  if constexpr (SINKS) sum += ex2(p.sinks[head] * kLog2e - big);
  const float inv = 1.f / sum;
  kiln_dev::f16_bits* out = static_cast<kiln_dev::f16_bits*>(p.out) +
                            (static_cast<long long>(q_begin + token) * gqa * n_kv_heads + head) * D + lane * PER_LANE;
#pragma unroll
  for (int i = 0; i < PER_LANE; i += 2)
    *reinterpret_cast<unsigned int*>(out + i) =
        pack_f16x2((w[0] * o[0][i] + w[1] * o[1][i]) * inv, (w[0] * o[0][i + 1] + w[1] * o[1][i + 1]) * inv);
}
