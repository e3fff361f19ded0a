#pragma once
// Rotary position embedding, in place on q and k. Pair i (0 <= i < n_rot/2) of a head turns by
//   theta = position * freq_scale * freq_base^(-2i/n_rot) / freq_factors[i]
// Normal pairing rotates elements (2i, 2i+1); NEOX pairing rotates (i, i + n_rot/2).
// Dims at and after n_rot are left alone. One thread per pair; grid.x = token,
// grid.y covers the pairs of all q and k heads of that token.
// FREQ_BASE is the base as an integer constant (0: dynamic, read from p.freq_base; key builders
// use 0 whenever the base is not a whole number).
#include "common.cuh"
#include "rope_params.h"

template <int HEAD_DIM, int N_ROT, int FREQ_BASE, int NEOX, int F16, int THREADS>
__global__ void __launch_bounds__(THREADS) rope(const __grid_constant__ RopeParams p) {
  using namespace kiln_dev;
  const int head_dim = HEAD_DIM ? HEAD_DIM : p.head_dim;
  const int n_rot = N_ROT ? N_ROT : p.n_rot;
  const int half_rot = n_rot / 2;
  const int token = blockIdx.x;
  const int pair = blockIdx.y * THREADS + threadIdx.x;  // over (head, i), q heads first
  const int head = pair / half_rot, i = pair % half_rot;
  if (head >= p.n_heads + p.n_kv_heads) return;

  const float log2_base = log2f(FREQ_BASE ? static_cast<float>(FREQ_BASE) : p.freq_base);
  float inv_freq = exp2f(-2.0f * i / n_rot * log2_base);
  if (p.freq_factors) inv_freq /= p.freq_factors[i];
  const float theta = static_cast<float>(p.positions[token]) * p.freq_scale * inv_freq;
  float sin_t, cos_t;
  sincosf(theta, &sin_t, &cos_t);  // full-range reduction: positions reach 1e5+ radians

  const bool is_q = head < p.n_heads;
  const long long row = is_q ? token * p.q_token_stride + static_cast<long long>(head) * head_dim
                             : token * p.k_token_stride + static_cast<long long>(head - p.n_heads) * head_dim;
  const int a = NEOX ? i : 2 * i;
  const int b = NEOX ? i + half_rot : 2 * i + 1;
  if (F16) {
    f16_bits* v = static_cast<f16_bits*>(is_q ? p.q : p.k) + row;
    const float x0 = f16_to_f32(v[a]), x1 = f16_to_f32(v[b]);
    v[a] = f32_to_f16(x0 * cos_t - x1 * sin_t);
    v[b] = f32_to_f16(x0 * sin_t + x1 * cos_t);
  } else {
    float* v = static_cast<float*>(is_q ? p.q : p.k) + row;
    if (!NEOX) {  // adjacent pair: one 8-byte access (row and 2i are even, so it is aligned)
      const float2 x = *reinterpret_cast<float2*>(v + a);
      *reinterpret_cast<float2*>(v + a) = make_float2(x.x * cos_t - x.y * sin_t, x.x * sin_t + x.y * cos_t);
    } else {
      const float x0 = v[a], x1 = v[b];
      v[a] = x0 * cos_t - x1 * sin_t;
      v[b] = x0 * sin_t + x1 * cos_t;
    }
  }
}
