#pragma once
// y = W x for Q8_0 weights W [n_rows][n_cols] and one input vector x (decode's mat-vec).
// Bandwidth-bound: each weight byte is read once. A block owns ROWS_PER_BLOCK consecutive rows,
// which are one contiguous byte range; it stages that range into shared memory with aligned
// 16-byte cp.async copies (34-byte blocks are only 2-byte aligned, so they cannot be loaded
// as vectors directly), then each thread takes every THREADS-th column block of all its rows,
// so one read of x serves ROWS_PER_BLOCK rows. grid.x = ceil(n_rows / ROWS_PER_BLOCK),
// dynamic shared memory = matvec_q8_0_smem_bytes(ROWS_PER_BLOCK, n_cols).
#include "common.cuh"
#include "matvec_q8_0_params.h"

namespace kiln_dev {

// Dot product of one Q8_0 block at a 2-byte aligned shared-memory address with 32 floats.
// Reads 9 aligned words (up to 2 bytes past the block) and realigns them with PRMT.
__device__ __forceinline__ float q8_0_block_dot(const unsigned char* block, const float x[32]) {
  const unsigned int address = static_cast<unsigned int>(reinterpret_cast<unsigned long long>(block));
  const unsigned int* words = reinterpret_cast<const unsigned int*>(block - (address & 2));
  const bool odd_half = address & 2;  // the block starts in the upper half of a word
  unsigned int w[9];
#pragma unroll
  for (int k = 0; k < 9; ++k) w[k] = words[k];
  const unsigned int selector = odd_half ? 0x7654u : 0x5432u;
  float sum = 0.0f;
#pragma unroll
  for (int k = 0; k < 8; ++k) {
    float q[4];
    s8x4_to_f32x4(__byte_perm(w[k], w[k + 1], selector), q);
#pragma unroll
    for (int e = 0; e < 4; ++e) sum = fmaf(q[e], x[4 * k + e], sum);
  }
  const f16_bits d = static_cast<f16_bits>(odd_half ? w[0] >> 16 : w[0] & 0xffffu);
  return f16_to_f32(d) * sum;
}

}  // namespace kiln_dev

template <int N_COLS, int N_ROWS, int ROWS_PER_BLOCK, int THREADS, int X_F16>
__global__ void __launch_bounds__(THREADS) matvec_q8_0(const __grid_constant__ MatvecQ8_0Params p) {
  using namespace kiln_dev;
  static_assert(THREADS % 32 == 0 && ROWS_PER_BLOCK >= 1, "matvec_q8_0: bad tuning constants");
  extern __shared__ __align__(16) unsigned char slab[];
  __shared__ float partial[THREADS / 32][ROWS_PER_BLOCK];

  const int n_cols = N_COLS ? N_COLS : p.n_cols;
  const int n_rows = N_ROWS ? N_ROWS : p.n_rows;
  const int blocks_per_row = n_cols / kQ8_0BlockElems;
  const int row_bytes = blocks_per_row * kQ8_0BlockBytes;
  const int row0 = blockIdx.x * ROWS_PER_BLOCK;
  const int rows_here = min(ROWS_PER_BLOCK, n_rows - row0);

  // Stage rows [row0, row0 + rows_here) through whole aligned 16-byte chunks.
  const unsigned char* first = static_cast<const unsigned char*>(p.w) + static_cast<long long>(row0) * row_bytes;
  const unsigned char* aligned = reinterpret_cast<const unsigned char*>(reinterpret_cast<unsigned long long>(first) & ~15ull);
  const int lead = static_cast<int>(first - aligned);
  const int n_chunks = (lead + rows_here * row_bytes + 15) / 16;
  for (int c = threadIdx.x; c < n_chunks; c += THREADS) cp_async_16(slab + 16 * c, aligned + 16 * c);
  cp_async_wait_all();
  __syncthreads();

  float acc[ROWS_PER_BLOCK];
#pragma unroll
  for (int r = 0; r < ROWS_PER_BLOCK; ++r) acc[r] = 0.0f;
  for (int b = threadIdx.x; b < blocks_per_row; b += THREADS) {
    float xs[kQ8_0BlockElems];
    if (X_F16) {
      const uint4* xv = static_cast<const uint4*>(p.x) + b * 4;
#pragma unroll
      for (int v = 0; v < 4; ++v) {
        const uint4 u = __ldg(xv + v);
        const unsigned int parts[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
        for (int h = 0; h < 4; ++h) {
          const float2 f = f16x2_to_f32x2(parts[h]);
          xs[8 * v + 2 * h] = f.x;
          xs[8 * v + 2 * h + 1] = f.y;
        }
      }
    } else {
      const float4* xv = static_cast<const float4*>(p.x) + b * 8;
#pragma unroll
      for (int v = 0; v < 8; ++v) {
        const float4 f = __ldg(xv + v);
        xs[4 * v] = f.x;
        xs[4 * v + 1] = f.y;
        xs[4 * v + 2] = f.z;
        xs[4 * v + 3] = f.w;
      }
    }
#pragma unroll
    for (int r = 0; r < ROWS_PER_BLOCK; ++r)
      if (r < rows_here) acc[r] += q8_0_block_dot(slab + lead + r * row_bytes + b * kQ8_0BlockBytes, xs);
  }

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
#pragma unroll
  for (int r = 0; r < ROWS_PER_BLOCK; ++r) {
    const float s = warp_sum(acc[r]);
    if (lane == 0) partial[warp][r] = s;
  }
  __syncthreads();
  if (threadIdx.x < rows_here) {
    float total = 0.0f;
#pragma unroll
    for (int w = 0; w < THREADS / 32; ++w) total += partial[w][threadIdx.x];
    if (p.bias) total += p.bias[row0 + threadIdx.x];
    p.y[row0 + threadIdx.x] = total;
  }
}
