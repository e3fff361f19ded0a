#pragma once
// Arguments of matvec_q8r.cuh and matvec_q8r_stream.cuh: the same as gemm_q8_0's (one struct
// fills any of the kernels), with m <= the key's max_tokens (at most 8).
#include "gemm_q8_0_params.h"

using MatvecQ8rParams = Q8MatmulParams;

// Rows of W one matvec_q8r block (one matvec_q8r_stream tile) owns: one m16 mma tile (gated: 8
// features of W_gate and W_up).
constexpr int kMatvecQ8rRowsPerBlock = 16;

// matvec_q8r_stream's shared memory for its tuning constants: `stages` stages, each a chunk of a
// tile as the TMA lays it down (quants [2 halves][chunk / 64 groups][8 rows][64 B], scales
// [2 halves][chunk / 256][8 rows][16 B]: the rows a quarter warp reads fall in distinct banks)
// and the same chunk of the activations (max_tokens rows of chunk f16, padded by 16 B); then the
// consumers' partial sums (two tiles of `consumers` x 32 float4), 2 mbarriers per stage and a flag.
constexpr int matvec_stream_qs_bytes(int chunk) { return kMatvecQ8rRowsPerBlock * chunk; }
constexpr int matvec_stream_d_bytes(int chunk) { return kMatvecQ8rRowsPerBlock * chunk / 16; }
constexpr int matvec_stream_x_row(int chunk) { return chunk * 2 + 16; }
constexpr int matvec_stream_stage_bytes(int chunk, int max_tokens) {
  return (matvec_stream_qs_bytes(chunk) + matvec_stream_d_bytes(chunk) + max_tokens * matvec_stream_x_row(chunk) +
          127) / 128 * 128;
}
constexpr int matvec_stream_smem_bytes(int chunk, int stages, int consumers, int max_tokens) {
  return 128 + stages * matvec_stream_stage_bytes(chunk, max_tokens) + 2 * consumers * 32 * 16 + stages * 16 + 16;
}
