#pragma once
// RMS norm of each row, optionally after adding the residual stream:
//   h = x (+ residual);  residual_out = h;  out = h / sqrt(mean(h^2) + eps) * weight
// One block per row. Rows whose length is a multiple of 4 use 16-byte loads; the specialized
// build (N_EMBD != 0) keeps h in registers between the two passes, the generic one re-reads it.
#include "common.cuh"
#include "rmsnorm_params.h"

template <int N_EMBD, int FUSE_RESIDUAL, int OUT_F16, int THREADS>
__global__ void __launch_bounds__(THREADS) rmsnorm(const __grid_constant__ RmsnormParams p) {
  kiln_dev::allow_next_kernel_to_launch();
  kiln_dev::wait_for_previous_kernel();
  using namespace kiln_dev;
  __shared__ float scratch[32];
  const int n = N_EMBD ? N_EMBD : p.n_embd;
  const long long row = blockIdx.x;
  const float* x = p.x + row * n;
  const float* res = FUSE_RESIDUAL ? p.residual + row * n : nullptr;
  float* res_out = FUSE_RESIDUAL ? p.residual_out + row * n : nullptr;

  // Registers hold h when the row length is known here (a compile-time trip count).
  constexpr int CACHED = N_EMBD && N_EMBD % 4 == 0 ? (N_EMBD / 4 + THREADS - 1) / THREADS : 0;
  const bool vec4 = n % 4 == 0;

  float sum_sq = 0.0f;
  float4 cache[CACHED > 0 ? CACHED : 1];
  if (vec4) {
    const int n4 = n / 4;
    auto load_h = [&](int i) {
      float4 h = __ldg(reinterpret_cast<const float4*>(x) + i);
      if (FUSE_RESIDUAL) {
        const float4 r = reinterpret_cast<const float4*>(res)[i];
        h = make_float4(h.x + r.x, h.y + r.y, h.z + r.z, h.w + r.w);
        reinterpret_cast<float4*>(res_out)[i] = h;
      }
      return h;
    };
    if constexpr (CACHED > 0) {
#pragma unroll
      for (int j = 0; j < CACHED; ++j) {
        const int i = threadIdx.x + j * THREADS;
        cache[j] = i < n4 ? load_h(i) : make_float4(0.f, 0.f, 0.f, 0.f);
        sum_sq += cache[j].x * cache[j].x + cache[j].y * cache[j].y + cache[j].z * cache[j].z +
                  cache[j].w * cache[j].w;
      }
    } else {
      for (int i = threadIdx.x; i < n4; i += THREADS) {
        const float4 h = load_h(i);
        sum_sq += h.x * h.x + h.y * h.y + h.z * h.z + h.w * h.w;
      }
    }
  } else {
    for (int i = threadIdx.x; i < n; i += THREADS) {
      float h = x[i];
      if (FUSE_RESIDUAL) {
        h += res[i];
        res_out[i] = h;
      }
      sum_sq += h * h;
    }
  }

  const float scale = rsqrtf(block_sum<THREADS>(sum_sq, scratch) / n + p.eps);

  // Second pass: h from registers, or re-read (from residual_out when fused: this thread wrote
  // those elements itself, and residual may alias it).
  const float* h_src = FUSE_RESIDUAL ? res_out : x;
  if (vec4) {
    const int n4 = n / 4;
    auto store = [&](int i, float4 h) {
      const float4 w = __ldg(reinterpret_cast<const float4*>(p.weight) + i);
      const float4 y = make_float4(h.x * scale * w.x, h.y * scale * w.y, h.z * scale * w.z, h.w * scale * w.w);
      if (OUT_F16)
        reinterpret_cast<uint2*>(p.out)[row * n4 + i] = make_uint2(f32x2_to_f16x2(y.x, y.y), f32x2_to_f16x2(y.z, y.w));
      else
        reinterpret_cast<float4*>(p.out)[row * n4 + i] = y;
    };
    if constexpr (CACHED > 0) {
#pragma unroll
      for (int j = 0; j < CACHED; ++j) {
        const int i = threadIdx.x + j * THREADS;
        if (i < n4) store(i, cache[j]);
      }
    } else {
      for (int i = threadIdx.x; i < n4; i += THREADS) store(i, reinterpret_cast<const float4*>(h_src)[i]);
    }
  } else {
    for (int i = threadIdx.x; i < n; i += THREADS) {
      const float y = h_src[i] * scale * p.weight[i];
      if (OUT_F16)
        static_cast<f16_bits*>(p.out)[row * n + i] = f32_to_f16(y);
      else
        static_cast<float*>(p.out)[row * n + i] = y;
    }
  }
}
