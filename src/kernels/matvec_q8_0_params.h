#pragma once
// Arguments of matvec_q8_0.cuh. Included by the host (which fills it) and by the kernel
// (NVRTC), so plain data only: no host- or device-only constructs.

// GGUF Q8_0: blocks of 32 weights, each an f16 scale d then 32 int8 q (weight = d * q).
constexpr int kQ8_0BlockElems = 32;
constexpr int kQ8_0BlockBytes = 34;

struct MatvecQ8_0Params {
  const void* w;       // [n_rows][n_cols / 32] Q8_0 blocks, rows back to back; 2-byte aligned,
                       // and readable up to the next 16-byte boundary past its end (the kernel
                       // reads whole aligned 16-byte chunks; a chunk never crosses a page)
  const void* x;       // [n_cols] float, or f16 bits when x_f16; 16-byte aligned
  const float* bias;   // [n_rows] or null
  float* y;            // [n_rows] = W x (+ bias)
  int n_rows;          // read by the generic build only
  int n_cols;          // read by the generic build only; a multiple of 32
};

// Dynamic shared memory a block needs: its rows' bytes, plus up to 15 bytes of the aligned
// chunk before the first row and slack for reading whole words past the last block.
constexpr int matvec_q8_0_smem_bytes(int rows_per_block, int n_cols) {
  return (rows_per_block * (n_cols / kQ8_0BlockElems) * kQ8_0BlockBytes + 15 + 15) / 16 * 16 + 16;
}
