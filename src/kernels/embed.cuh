#pragma once
// Token embedding lookup: out[t] = dequantized row tokens[t] of the q8r table, times scale.
// One block per token; each thread converts one 32-bit word of quants per step. In q8r a word
// at byte 16c + 4j of a 64-weight group G holds weights k0, k0+1, k0+8, k0+9 with
// k0 = 64G + 16j + 2c (engine/q8_0_repack.h), all four in one 32-weight scale block.
#include "common.cuh"
#include "embed_params.h"

template <int N_EMBD, int THREADS>
__global__ void __launch_bounds__(THREADS) embed(const __grid_constant__ EmbedParams p) {
  KILN_TRACE_KERNEL();
  kiln_dev::allow_next_kernel_to_launch();
  kiln_dev::wait_for_previous_kernel();
  using namespace kiln_dev;
  const int n = N_EMBD ? N_EMBD : p.n_embd;
  const long long row = p.tokens[blockIdx.x];
  const unsigned int* qs = reinterpret_cast<const unsigned int*>(
      static_cast<const signed char*>(p.qs) + row * p.k_padded);
  const f16_bits* d = static_cast<const f16_bits*>(p.d) + row * (p.k_padded / 32);
  float* out = p.out + static_cast<long long>(blockIdx.x) * n;
  for (int i = threadIdx.x; i < p.k_padded / 4; i += THREADS) {
    const int group = i / 16, c = (i % 16) / 4, j = i % 4;
    const int k0 = 64 * group + 16 * j + 2 * c;
    if (k0 >= n) continue;  // the zero padding of a row whose length is 32 mod 64
    float v[4];
    s8x4_to_f32x4(qs[i], v);
    const float s = f16_to_f32(d[k0 / 32]) * p.scale;
    *reinterpret_cast<float2*>(out + k0) = make_float2(v[0] * s, v[1] * s);
    *reinterpret_cast<float2*>(out + k0 + 8) = make_float2(v[2] * s, v[3] * s);
  }
}
