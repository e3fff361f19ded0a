#pragma once
// RMS norm of each row, optionally after adding the residual stream:
//   h = x (+ residual);  residual_out = h;  out = h / sqrt(mean(h^2) + eps) * weight
// One block per row. Rows whose length is a multiple of 4 use 16-byte loads; the specialized
// build (N_EMBD != 0) keeps h in registers between the two passes, the generic one re-reads it.
// rmsnorm_row is also the norm epilogue of matvec_q8r (the next product's input, written by the
// product's last block).
#include "common.cuh"
#include "rmsnorm_params.h"

// One row, by all THREADS threads of the block: h = x (+ res), res_out = h when fused,
// out = f16 or f32 of h * rsqrt(mean(h^2) + eps) * weight. n = N_EMBD when it is not 0.
// COHERENT: x was written during this kernel by other blocks (matvec_q8r's norm epilogue), so it
// is read through L2 rather than the read-only path. scratch: 32 floats of shared memory.
template <int N_EMBD, int FUSE_RESIDUAL, int OUT_F16, int THREADS, bool COHERENT = false>
__device__ __forceinline__ void rmsnorm_row(const float* x, const float* res, float* res_out, const float* weight,
                                            void* out, int n, float eps, float* scratch) {
  using namespace kiln_dev;
  // Registers hold h when the row length is known here (a compile-time trip count).
  constexpr int CACHED = N_EMBD && N_EMBD % 4 == 0 ? (N_EMBD / 4 + THREADS - 1) / THREADS : 0;
  // 16-byte loads where the rows allow them (a caller's rows may start anywhere).
  const auto aligned = [](const void* ptr, unsigned bytes) {
    return (reinterpret_cast<unsigned long long>(ptr) & (bytes - 1)) == 0;
  };
  const bool vec4 = n % 4 == 0 && aligned(x, 16) && aligned(weight, 16) && aligned(out, OUT_F16 ? 8 : 16) &&
                    (!FUSE_RESIDUAL || (aligned(res, 16) && aligned(res_out, 16)));
  const auto load4 = [](const float* ptr, int i) {
    return COHERENT ? __ldcg(reinterpret_cast<const float4*>(ptr) + i) : __ldg(reinterpret_cast<const float4*>(ptr) + i);
  };

  float sum_sq = 0.0f;
  // With h in registers the weights come along with it: both loads are in flight together, and
  // the store pass waits for no memory.
  float4 cache[CACHED > 0 ? CACHED : 1], w_cache[CACHED > 0 ? CACHED : 1];
  if (vec4) {
    const int n4 = n / 4;
    auto load_h = [&](int i) {
      float4 h = load4(x, i);
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
        w_cache[j] = i < n4 ? __ldg(reinterpret_cast<const float4*>(weight) + i) : make_float4(0.f, 0.f, 0.f, 0.f);
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
      float h = COHERENT ? __ldcg(x + i) : x[i];
      if (FUSE_RESIDUAL) {
        h += res[i];
        res_out[i] = h;
      }
      sum_sq += h * h;
    }
  }

  const float scale = rsqrtf(block_sum<THREADS>(sum_sq, scratch) / n + eps);

  // Second pass: h from registers, or re-read (from res_out when fused: this thread wrote those
  // elements itself, and res may alias it).
  const float* h_src = FUSE_RESIDUAL ? res_out : x;
  if (vec4) {
    const int n4 = n / 4;
    auto store = [&](int i, float4 h, float4 w) {
      const float4 y = make_float4(h.x * scale * w.x, h.y * scale * w.y, h.z * scale * w.z, h.w * scale * w.w);
      if (OUT_F16)
        reinterpret_cast<uint2*>(out)[i] = make_uint2(f32x2_to_f16x2(y.x, y.y), f32x2_to_f16x2(y.z, y.w));
      else
        reinterpret_cast<float4*>(out)[i] = y;
    };
    if constexpr (CACHED > 0) {
#pragma unroll
      for (int j = 0; j < CACHED; ++j) {
        const int i = threadIdx.x + j * THREADS;
        if (i < n4) store(i, cache[j], w_cache[j]);
      }
    } else {
      for (int i = threadIdx.x; i < n4; i += THREADS)
        store(i, FUSE_RESIDUAL ? reinterpret_cast<const float4*>(h_src)[i] : load4(h_src, i),
              __ldg(reinterpret_cast<const float4*>(weight) + i));
    }
  } else {
    for (int i = threadIdx.x; i < n; i += THREADS) {
      const float y = (FUSE_RESIDUAL || !COHERENT ? h_src[i] : __ldcg(h_src + i)) * scale * weight[i];
      if (OUT_F16)
        static_cast<f16_bits*>(out)[i] = f32_to_f16(y);
      else
        static_cast<float*>(out)[i] = y;
    }
  }
}

template <int N_EMBD, int FUSE_RESIDUAL, int OUT_F16, int THREADS>
__global__ void __launch_bounds__(THREADS) rmsnorm(const __grid_constant__ RmsnormParams p) {
  KILN_TRACE_KERNEL();
  kiln_dev::allow_next_kernel_to_launch();
  kiln_dev::wait_for_previous_kernel();
  __shared__ float scratch[32];
  const int n = N_EMBD ? N_EMBD : p.n_embd;
  const long long row = blockIdx.x;
  rmsnorm_row<N_EMBD, FUSE_RESIDUAL, OUT_F16, THREADS>(
      p.x + row * n, FUSE_RESIDUAL ? p.residual + row * n : nullptr, FUSE_RESIDUAL ? p.residual_out + row * n : nullptr,
      p.weight, static_cast<char*>(p.out) + row * n * (OUT_F16 ? 2 : 4), n, p.eps, scratch);
}
