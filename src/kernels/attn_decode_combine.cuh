#pragma once
// The second half of a split decode (attn_decode.cuh with more than one split): per query head,
// the splits' unnormalized O, max m and sum l (log2 units) merge into the softmax over all keys,
// out = sum_s 2^(m_s - M) O_s / (sum_s 2^(m_s - M) l_s (+ 2^(sink - M))), M = max_s m_s, as f16.
// grid = (head_dim / 32, n_heads, n_seqs), 4 warps: a CTA finishes 32 dims of one head, a lane
// one dim; warp w sums the splits w, w + 4, ... (all their loads in flight together), and every
// warp computes the weights itself from the (m, l) of all splits (lane i holds splits i, i + 32),
// so the only exchange is the final sum of the 4 warps. Many small CTAs, one L2 round trip each:
// the merge is latency-bound (64 splits of 6 heads merged in one CTA, the way attn_decode's last
// CTA did it, took ~7 us a layer on qwen2-1.5b, 2026-11-25).
// Constants: HEAD_DIM (always compiled in), GQA, N_KV_HEADS (shape, 0: from params), SINKS (variant).
#include "attn_common.cuh"

template <int HEAD_DIM, int GQA, int N_KV_HEADS, int SINKS>
__global__ void __launch_bounds__(128) attn_decode_combine(const __grid_constant__ AttnParams p) {
  KILN_TRACE_KERNEL();
  kiln_dev::allow_next_kernel_to_launch();
  kiln_dev::wait_for_previous_kernel();
  using namespace kiln_attn;
  constexpr int D = HEAD_DIM, WARPS = 4, MOST = kAttnMaxSplits / WARPS;  // splits a warp sums
  static_assert(D % 32 == 0 && kAttnMaxSplits <= 64, "attn_decode_combine: 32-dim slices, lanes over <= 64 splits");
  const int n_heads = (GQA ? GQA : p.gqa) * (N_KV_HEADS ? N_KV_HEADS : p.n_kv_heads);
  const int splits = p.splits;
  const int head = blockIdx.y, seq = blockIdx.z;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int d = blockIdx.x * 32 + lane;
  const long long first = (static_cast<long long>(seq) * n_heads + head) * p.max_splits;  // the head's split 0

  float o[MOST];
#pragma unroll
  for (int i = 0; i < MOST; ++i) {
    const int s = warp + WARPS * i;
    o[i] = s < splits ? __ldcg(p.partial_o + (first + s) * D + d) : 0.f;
  }
  const float2* ml = reinterpret_cast<const float2*>(p.partial_ml) + first;
  const float2 a = lane < splits ? __ldcg(ml + lane) : make_float2(neg_inf(), 0.f);
  const float2 b = lane + 32 < splits ? __ldcg(ml + lane + 32) : make_float2(neg_inf(), 0.f);
  float big = fmaxf(a.x, b.x);
#pragma unroll
  for (int x = 16; x > 0; x /= 2) big = fmaxf(big, __shfl_xor_sync(0xffffffffu, big, x));
  // A split that saw no key (m = -inf) weighs nothing.
  const float wa = a.x == neg_inf() ? 0.f : ex2(a.x - big), wb = b.x == neg_inf() ? 0.f : ex2(b.x - big);
  float sum = kiln_dev::warp_sum(wa * a.y + wb * b.y);
  if constexpr (SINKS) sum += ex2(p.sinks[head] * kLog2e - big);

  float value = 0.f;
#pragma unroll
  for (int i = 0; i < MOST; ++i) {
    const int s = warp + WARPS * i;  // its weight is lane s % 32's wa (s < 32) or wb
    const float w = __shfl_sync(0xffffffffu, s < 32 ? wa : wb, s % 32);
    value += w * o[i];
  }
  __shared__ float part[WARPS][32];
  part[warp][lane] = value;
  __syncthreads();
  if (warp != 0) return;
  value = part[0][lane] + part[1][lane] + part[2][lane] + part[3][lane];
  static_cast<kiln_dev::f16_bits*>(p.out)[(static_cast<long long>(p.q_start[seq]) * n_heads + head) * D + d] =
      kiln_dev::f32_to_f16(value / sum);
}
