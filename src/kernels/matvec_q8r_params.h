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
// and, unless the kernel normalizes its input itself (in_norm), the same chunk of the
// activations (max_tokens rows of chunk f16, padded by 16 B); then the consumers' partial sums
// (two tiles of `consumers` x 32 float4), 2 mbarriers per stage and a flag; with in_norm last the
// normalized activations, all of K (max_tokens rows of in_norm_k f16, padded by 16 B).
// At least kMatvecStreamMinSmem: two of these CTAs must never share an SM (notes/decode.md: the
// next product's CTA beside this one's last chunks decoded 8-15% slower).
constexpr int kMatvecStreamMinSmem = 116 * 1024;
constexpr int matvec_stream_qs_bytes(int chunk) { return kMatvecQ8rRowsPerBlock * chunk; }
constexpr int matvec_stream_d_bytes(int chunk) { return kMatvecQ8rRowsPerBlock * chunk / 16; }
constexpr int matvec_stream_x_row(int k) { return k * 2 + 16; }
constexpr int matvec_stream_stage_bytes(int chunk, int x_tokens) {
  return (matvec_stream_qs_bytes(chunk) + matvec_stream_d_bytes(chunk) + x_tokens * matvec_stream_x_row(chunk) +
          127) / 128 * 128;
}
constexpr int matvec_stream_smem_bytes(int chunk, int stages, int consumers, int max_tokens, int in_norm_k = 0) {
  const int bytes = 128 + stages * matvec_stream_stage_bytes(chunk, in_norm_k ? 0 : max_tokens) +
                    2 * consumers * 32 * 16 + stages * 16 + 16 + max_tokens * (in_norm_k ? matvec_stream_x_row(in_norm_k) : 0);
  return bytes > kMatvecStreamMinSmem ? bytes : kMatvecStreamMinSmem;
}
