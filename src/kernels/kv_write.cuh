#pragma once
// From the fused QKV projection to attention's inputs, per token and head: optional per-head
// RMSNorm of q and k (qwen3, gemma3), RoPE of q and k, then q -> f16 [n_tokens][n_heads][head_dim]
// and k, v -> the paged cache at the token's position (slot from its sequence's page table).
// grid = (n_tokens, ceil((n_heads + 2 n_kv_heads) / kKvWriteWarps)); one warp per head; lane l
// holds the head's element pairs l, l + 32, ... (a rotated pair: (i, i + n_rot/2) for NEOX,
// (2i, 2i + 1) for NORMAL; the rest in adjacent pairs).
// Constants: HEAD_DIM, N_HEADS, N_KV_HEADS, N_ROT, PAGE_SIZE: shape (0: from params);
// ROPE (kRope*), QK_NORM, IN_F16, K_TYPE, V_TYPE (kKvF16 / kKvQ8_0, kv_types.h): variant.
// A q8_0 row is quantized by its warp: the head's values go through shared memory so that lane l
// holds value l of each 32-value block, and each block's max|x| is one warp reduction.
#include "common.cuh"
#include "kv_types.h"
#include "kv_write_params.h"

template <int HEAD_DIM, int N_HEADS, int N_KV_HEADS, int N_ROT, int PAGE_SIZE, int ROPE, int QK_NORM, int IN_F16,
          int K_TYPE, int V_TYPE>
__global__ void __launch_bounds__(kKvWriteWarps * 32) kv_write(const __grid_constant__ KvWriteParams p) {
  kiln_dev::allow_next_kernel_to_launch();
  kiln_dev::wait_for_previous_kernel();
  using kiln_dev::f16_bits;
  constexpr int MAX_PAIRS_PER_LANE = 4;  // head_dim <= 256
  static_assert(HEAD_DIM % 64 == 0 && HEAD_DIM <= 256, "kv_write: head_dim a multiple of 64, <= 256");
  const int head_dim = HEAD_DIM ? HEAD_DIM : p.head_dim;
  const int n_heads = N_HEADS ? N_HEADS : p.n_heads;
  const int n_kv_heads = N_KV_HEADS ? N_KV_HEADS : p.n_kv_heads;
  const int n_rot = N_ROT ? N_ROT : p.n_rot;
  const int page_size = PAGE_SIZE ? PAGE_SIZE : p.page_size;
  const int pairs_per_lane = head_dim / 64;

  const int token = blockIdx.x;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int head = blockIdx.y * kKvWriteWarps + warp;  // over q heads, then k heads, then v heads
  if (head >= n_heads + 2 * n_kv_heads) return;
  const bool is_q = head < n_heads, is_v = head >= n_heads + n_kv_heads;
  const long long src = token * p.qkv_stride + static_cast<long long>(head) * head_dim;

  // Element indices and values of this lane's pairs.
  int ia[MAX_PAIRS_PER_LANE], ib[MAX_PAIRS_PER_LANE];
  float x0[MAX_PAIRS_PER_LANE], x1[MAX_PAIRS_PER_LANE];
  const int half_rot = n_rot / 2;
#pragma unroll
  for (int i = 0; i < MAX_PAIRS_PER_LANE; ++i) {
    if (i >= pairs_per_lane) break;
    const int j = lane + 32 * i;
    const bool neox_pair = ROPE == kRopeNeox && !is_v && j < half_rot;
    ia[i] = neox_pair ? j : 2 * j;
    ib[i] = neox_pair ? j + half_rot : 2 * j + 1;
    if (IN_F16) {
      const f16_bits* in = static_cast<const f16_bits*>(p.qkv) + src;
      x0[i] = kiln_dev::f16_to_f32(in[ia[i]]);
      x1[i] = kiln_dev::f16_to_f32(in[ib[i]]);
    } else {
      const float* in = static_cast<const float*>(p.qkv) + src;
      x0[i] = in[ia[i]];
      x1[i] = in[ib[i]];
    }
  }

  if (!is_v) {
    if (QK_NORM) {
      float ss = 0.f;
#pragma unroll
      for (int i = 0; i < MAX_PAIRS_PER_LANE; ++i)
        if (i < pairs_per_lane) ss += x0[i] * x0[i] + x1[i] * x1[i];
      const float r = 1.f / sqrtf(kiln_dev::warp_sum(ss) / head_dim + p.norm_eps);
      const float* w = is_q ? p.q_norm : p.k_norm;
#pragma unroll
      for (int i = 0; i < MAX_PAIRS_PER_LANE; ++i) {
        if (i >= pairs_per_lane) break;
        x0[i] = x0[i] * r * w[ia[i]];
        x1[i] = x1[i] * r * w[ib[i]];
      }
    }
    if (ROPE != kRopeNone) {
      const double pos = p.positions[token];
#pragma unroll
      for (int i = 0; i < MAX_PAIRS_PER_LANE; ++i) {
        if (i >= pairs_per_lane) break;
        const int j = lane + 32 * i;
        if (j >= half_rot) continue;
        // The angle in double, reduced to [-pi, pi] before the float sincos.
        const double theta = pos * p.inv_freq[j];
        const double two_pi = 6.283185307179586;
        const float reduced = static_cast<float>(theta - rint(theta / two_pi) * two_pi);
        float sin_t, cos_t;
        __sincosf(reduced, &sin_t, &cos_t);  // |error| ~ 2^-21 on [-pi, pi]; the output is f16
        cos_t *= p.rope_mscale;
        sin_t *= p.rope_mscale;
        const float a = x0[i], b = x1[i];
        x0[i] = a * cos_t - b * sin_t;
        x1[i] = a * sin_t + b * cos_t;
      }
    }
  }

  // This lane's pairs as f16 into a row of head_dim values (the query output, or an f16 cache row).
  auto store_f16_row = [&](f16_bits* dst) {
#pragma unroll
    for (int i = 0; i < MAX_PAIRS_PER_LANE; ++i) {
      if (i >= pairs_per_lane) break;
      dst[ia[i]] = kiln_dev::f32_to_f16(x0[i]);
      dst[ib[i]] = kiln_dev::f32_to_f16(x1[i]);
    }
  };
  if (is_q) {
    store_f16_row(static_cast<f16_bits*>(p.q_out) + (static_cast<long long>(token) * n_heads + head) * head_dim);
    return;
  }
  // The token's row in its page (kv_types.h: a page of one head is page_size rows).
  const int kv_head = is_v ? head - n_heads - n_kv_heads : head - n_heads;
  const int pos = p.positions[token];
  const int seq = p.token_seq ? p.token_seq[token] : 0;
  const int page = p.page_table[static_cast<long long>(seq) * p.max_pages + pos / page_size];
  const int slot = pos % page_size;
  const int type = is_v ? V_TYPE : K_TYPE;
  unsigned char* block = static_cast<unsigned char*>(is_v ? p.v_pool : p.k_pool) +
                         (static_cast<long long>(page) * n_kv_heads + kv_head) * page_size *
                             static_cast<long long>(kv_row_bytes(type, head_dim));
  if (type == kKvF16) {
    store_f16_row(reinterpret_cast<f16_bits*>(block) + static_cast<long long>(slot) * head_dim);
    return;
  }
  // q8_0: per block of 32, d = max|x| / 127 (kept as f16), q = round(x / d) computed as
  // round(x * (1 / d)) in f32, as ggml does (the GPU tests repeat these exact operations).
  __shared__ float row[kKvWriteWarps][256];
#pragma unroll
  for (int i = 0; i < MAX_PAIRS_PER_LANE; ++i) {
    if (i >= pairs_per_lane) break;
    row[warp][ia[i]] = x0[i];
    row[warp][ib[i]] = x1[i];
  }
  __syncwarp();
  signed char* quants = reinterpret_cast<signed char*>(block) + static_cast<long long>(slot) * head_dim;
  f16_bits* scales = reinterpret_cast<f16_bits*>(block + static_cast<long long>(page_size) * head_dim) +
                     static_cast<long long>(slot) * (head_dim / kKvQ8Block);
  for (int b = 0; b < head_dim / kKvQ8Block; ++b) {
    const float x = row[warp][b * kKvQ8Block + lane];
    float amax = fabsf(x);
#pragma unroll
    for (int o = 16; o > 0; o /= 2) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
    const float d = amax / 127.f;
    const float id = d != 0.f ? 1.f / d : 0.f;
    quants[b * kKvQ8Block + lane] = static_cast<signed char>(static_cast<int>(roundf(x * id)));
    if (lane == 0) scales[b] = kiln_dev::f32_to_f16(d);
  }
}
