#pragma once
// Arguments of matvec_q8_0.cuh. Included by the host (which fills it) and by the kernel
// (NVRTC), so plain data only: no host- or device-only constructs.

// GGUF Q8_0: blocks of 32 weights, each an f16 scale d then 32 int8 q (weight = d * q).
constexpr int kQ8_0BlockElems = 32;
constexpr int kQ8_0BlockBytes = 34;

struct MatvecQ8_0Params {
  const void* w;       // [n_rows][n_cols / 32] Q8_0 blocks, rows back to back; 2-byte aligned
                       // (the kernel reads the aligned 16-byte chunks holding them: a chunk
                       // never crosses a page, so this never faults past either end)
  const void* x;       // [n_cols] float, or f16 bits when x_f16; 16-byte aligned
  const float* bias;   // [n_rows] or null
  float* y;            // [n_rows] = W x (+ bias)
  int n_rows;          // read by the generic build only
  int n_cols;          // read by the generic build only; a multiple of 32
};

// The kernel works in tiles of 8 Q8_0 blocks (256 columns, 272 bytes of each row). A warp's
// pipeline stage holds one tile of each of the block's rows, each row's bytes starting up to
// 15 bytes into its 288-byte slot (the copy is done in aligned 16-byte chunks), then the tile's
// slice of x.
constexpr int kMatvecTileBlocks = 8;
constexpr int kMatvecRowSlotBytes = 288;

constexpr int matvec_q8_0_stage_bytes(int rows_per_block, int x_f16) {
  return rows_per_block * kMatvecRowSlotBytes + kMatvecTileBlocks * kQ8_0BlockElems * (x_f16 ? 2 : 4);
}

// Dynamic shared memory of one block: every warp's ring of stages, plus 16 bytes of slack
// (the last row slot is read a few bytes past its data).
constexpr int matvec_q8_0_smem_bytes(int rows_per_block, int threads, int stages, int x_f16) {
  return threads / 32 * stages * matvec_q8_0_stage_bytes(rows_per_block, x_f16) + 16;
}
