#pragma once
// y = W x for Q8_0 weights W [n_rows][n_cols] and one input vector x (decode's mat-vec).
// Bandwidth-bound: each weight byte is read once. A block owns ROWS_PER_BLOCK consecutive rows;
// its warps split the columns into tiles of 8 Q8_0 blocks (256 columns) and each warp streams
// its tiles through a private ring of STAGES shared-memory stages with cp.async: 34-byte blocks
// are only 2-byte aligned, so they are copied as the aligned 16-byte chunks that hold them
// (bypassing L1), while x's slice of the tile goes through L1, where every warp on the SM
// finds it. Only warp-level syncs in the loop: warps run ahead of each other freely.
// In a tile, lane l takes 8 weights: quarter (l % 4) of block (l / 4), against x[8l, 8l + 8).
// grid.x = ceil(n_rows / ROWS_PER_BLOCK); dynamic shared memory = matvec_q8_0_smem_bytes(...).
#include "common.cuh"
#include "matvec_q8_0_params.h"

namespace kiln_dev {

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }

// Waits until at most PENDING of this thread's most recent cp.async groups are in flight.
template <int PENDING>
__device__ __forceinline__ void cp_async_wait_pending() {
  asm volatile("cp.async.wait_group %0;" ::"n"(PENDING) : "memory");
}

// 16-byte global -> shared copy through L1 (.ca): for data many warps of the SM read (x).
__device__ __forceinline__ void cp_async_16_cached(void* shared_dst, const void* global_src) {
  const unsigned int dst = static_cast<unsigned int>(__cvta_generic_to_shared(shared_dst));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 16;" ::"r"(dst), "l"(global_src) : "memory");
}

// Sum of 8 int8 weights (bytes at a 2-byte aligned shared address) times 8 floats.
__device__ __forceinline__ float q8x8_dot(const unsigned char* quants, const float x[8]) {
  const unsigned int address = static_cast<unsigned int>(reinterpret_cast<unsigned long long>(quants));
  const unsigned int* words = reinterpret_cast<const unsigned int*>(quants - (address & 2));
  const unsigned int selector = address & 2 ? 0x5432u : 0x3210u;  // realign by 2 bytes or not
  const unsigned int w0 = words[0], w1 = words[1], w2 = words[2];
  float q[8];
  s8x4_to_f32x4(__byte_perm(w0, w1, selector), q);
  s8x4_to_f32x4(__byte_perm(w1, w2, selector), q + 4);
  float sum = 0.0f;
#pragma unroll
  for (int e = 0; e < 8; ++e) sum = fmaf(q[e], x[e], sum);
  return sum;
}

}  // namespace kiln_dev

template <int N_COLS, int N_ROWS, int ROWS_PER_BLOCK, int THREADS, int STAGES, int X_F16>
__global__ void __launch_bounds__(THREADS) matvec_q8_0(const __grid_constant__ MatvecQ8_0Params p) {
  using namespace kiln_dev;
  constexpr int R = ROWS_PER_BLOCK, WARPS = THREADS / 32;
  constexpr int X_BYTES = X_F16 ? 2 : 4;
  constexpr int STAGE_BYTES = matvec_q8_0_stage_bytes(R, X_F16);
  constexpr int X_SLOT = R * kMatvecRowSlotBytes;  // offset of x's slice in a stage
  static_assert(THREADS % 32 == 0 && R >= 1 && R <= THREADS && STAGES >= 1, "matvec_q8_0: bad tuning constants");
  extern __shared__ __align__(16) unsigned char smem[];
  __shared__ float partial[WARPS][R];

  const int n_cols = N_COLS ? N_COLS : p.n_cols;
  const int n_rows = N_ROWS ? N_ROWS : p.n_rows;
  const int blocks_per_row = n_cols / kQ8_0BlockElems;
  const long long row_bytes = static_cast<long long>(blocks_per_row) * kQ8_0BlockBytes;
  const int n_tiles = (blocks_per_row + kMatvecTileBlocks - 1) / kMatvecTileBlocks;
  const int row0 = blockIdx.x * R;
  const int rows_here = min(R, n_rows - row0);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  unsigned char* ring = smem + warp * (STAGES * STAGE_BYTES);
  const unsigned char* rows = static_cast<const unsigned char*>(p.w) + row0 * row_bytes;

  // This warp's tiles: warp, warp + WARPS, ...
  const int my_tiles = warp < n_tiles ? (n_tiles - warp + WARPS - 1) / WARPS : 0;
  auto tile_of = [&](int i) { return warp + i * WARPS; };

  auto issue = [&](int tile, int stage) {
    unsigned char* dst = ring + stage * STAGE_BYTES;
    const int first_block = tile * kMatvecTileBlocks;
    const int blocks = min(kMatvecTileBlocks, blocks_per_row - first_block);
#pragma unroll
    for (int r = 0; r < R; ++r) {
      if (r >= rows_here) break;
      const unsigned char* segment = rows + r * row_bytes + first_block * kQ8_0BlockBytes;
      const unsigned char* aligned = reinterpret_cast<const unsigned char*>(reinterpret_cast<unsigned long long>(segment) & ~15ull);
      const int chunks = (static_cast<int>(segment - aligned) + blocks * kQ8_0BlockBytes + 15) / 16;
      if (lane < chunks) cp_async_16(dst + r * kMatvecRowSlotBytes + 16 * lane, aligned + 16 * lane);
    }
    const int x_chunks = blocks * kQ8_0BlockElems * X_BYTES / 16;
    const unsigned char* x = static_cast<const unsigned char*>(p.x) + static_cast<long long>(first_block) * kQ8_0BlockElems * X_BYTES;
    for (int c = lane; c < x_chunks; c += 32) cp_async_16_cached(dst + X_SLOT + 16 * c, x + 16 * c);
  };

  float acc[R];
#pragma unroll
  for (int r = 0; r < R; ++r) acc[r] = 0.0f;

  // Prologue: STAGES - 1 tiles in flight. Every iteration commits one group (empty ones too),
  // so "at most STAGES - 1 pending" always means "this iteration's tile has landed".
#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < my_tiles) issue(tile_of(s), s);
    cp_async_commit();
  }
  for (int i = 0; i < my_tiles; ++i) {
    if (i + STAGES - 1 < my_tiles) issue(tile_of(i + STAGES - 1), (i + STAGES - 1) % STAGES);
    cp_async_commit();
    cp_async_wait_pending<STAGES - 1>();
    __syncwarp();  // every lane's copies of this stage are visible to the whole warp

    const unsigned char* stage = ring + (i % STAGES) * STAGE_BYTES;
    const int first_block = tile_of(i) * kMatvecTileBlocks;
    const int block = first_block + lane / 4;  // the Q8_0 block this lane works on
    if (block < blocks_per_row) {
      float xs[8];
      if (X_F16) {
        const uint4 u = *reinterpret_cast<const uint4*>(stage + X_SLOT + 16 * lane);
        const unsigned int parts[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
        for (int h = 0; h < 4; ++h) {
          const float2 f = f16x2_to_f32x2(parts[h]);
          xs[2 * h] = f.x;
          xs[2 * h + 1] = f.y;
        }
      } else {
        const float4 a = *reinterpret_cast<const float4*>(stage + X_SLOT + 32 * lane);
        const float4 b = *reinterpret_cast<const float4*>(stage + X_SLOT + 32 * lane + 16);
        xs[0] = a.x, xs[1] = a.y, xs[2] = a.z, xs[3] = a.w, xs[4] = b.x, xs[5] = b.y, xs[6] = b.z, xs[7] = b.w;
      }
#pragma unroll
      for (int r = 0; r < R; ++r) {
        if (r >= rows_here) break;
        const unsigned char* segment = rows + r * row_bytes + first_block * kQ8_0BlockBytes;
        const int lead = static_cast<int>(reinterpret_cast<unsigned long long>(segment) & 15);
        const unsigned char* q8_block = stage + r * kMatvecRowSlotBytes + lead + (lane / 4) * kQ8_0BlockBytes;
        const float d = f16_to_f32(*reinterpret_cast<const f16_bits*>(q8_block));
        acc[r] = fmaf(d, q8x8_dot(q8_block + 2 + 8 * (lane % 4), xs), acc[r]);
      }
    }
    __syncwarp();  // the stage is read before the next iteration refills it
  }
  cp_async_wait_pending<0>();  // nothing may land in shared memory after the block exits

#pragma unroll
  for (int r = 0; r < R; ++r) {
    const float s = warp_sum(acc[r]);
    if (lane == 0) partial[warp][r] = s;
  }
  __syncthreads();
  if (threadIdx.x < rows_here) {
    float total = 0.0f;
#pragma unroll
    for (int w = 0; w < WARPS; ++w) total += partial[w][threadIdx.x];
    if (p.bias) total += p.bias[row0 + threadIdx.x];
    p.y[row0 + threadIdx.x] = total;
  }
}
