#pragma once
// Arguments of gemm_q8_0.cuh (prefill GEMM) and matvec_q8r.cuh (decode mat-vec), which compute
// the same thing: out[m][n] (op)= A[m][:] · W[n][:] over q8r weights (engine/q8_0_repack.h).
// Included by the host (which fills it) and by the kernels (NVRTC): plain data only.

// Output epilogue (the out_kind constant of both kernels' keys).
enum : int {
  kMatmulOutF16 = 0,       // out f16 [m][ldo] = A·Wᵀ (+ bias)
  kMatmulOutF32 = 1,       // out f32 [m][ldo] = A·Wᵀ (+ bias)
  kMatmulOutAddF32 = 2,    // out f32 [m][ldo] += A·Wᵀ (+ bias): the residual stream
  kMatmulOutGatedF16 = 3,  // out f16 [m][ldo] = act(A·W_gateᵀ (+ bias)) * (A·W_upᵀ (+ bias2))
};
// Activation of the gated epilogue (the act constant; 0 for the other kinds).
enum : int {
  kMatmulActNone = 0,
  kMatmulActSilu = 1,      // x * sigmoid(x)
  kMatmulActGeluTanh = 2,  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
};

// A CUtensorMap (driver API) by another name, so this header needs no CUDA header.
struct alignas(64) Q8TensorMap {
  unsigned long long bits[16];
};

struct Q8MatmulParams {
  const void* a;      // f16 [m][lda] activations; rows 16-byte aligned (lda a multiple of 8)
  const void* w_qs;   // q8r quants of W (gated: W_gate): int8 [n][k_padded], k_padded = k rounded up to 64
  const void* w_d;    // q8r scales of W: f16 [n][k_padded / 32]
  const void* w2_qs;  // gated only: W_up, same shape as W; else null
  const void* w2_d;
  const float* bias;   // f32 [n] when the key's has_bias is 1, else null
  const float* bias2;  // gated with bias: f32 [n] of W_up
  void* out;           // f16 or f32 [m][ldo] (add_f32: read and written)
  int m;               // tokens (rows of A and out): any value >= 1
  int n;               // output features = rows of W (gated: of each of W_gate, W_up); generic build
  int k;               // input features, a multiple of 32; generic build
  int lda;             // elements between rows of a
  int ldo;             // elements between rows of out
  // matvec_q8r with norm = 1 (add_f32 only): once every block has added its rows, the last one
  // writes norm_out = f16(rmsnorm(out row) * norm_weight) for each of the m rows, the input of
  // the next product, so no rmsnorm kernel runs between the two.
  const float* norm_weight;  // f32 [n]
  void* norm_out;            // f16 [m][n]
  int* norm_counter;         // blocks done; 0 before a launch, reset to 0 by the last block
  float norm_eps;
  // gemm_q8_0 with tma = 1: A as a 2-D tensor (k inner, m rows; row stride lda * 2 bytes),
  // box 64 x (tile_m / cluster), 128-byte swizzle, zeros out of bounds. Filled by the host per launch.
  Q8TensorMap a_map;
  // matvec_q8r_stream: the weights as 3-D tensors of bytes, so that one TMA copy moves a chunk of
  // 8 rows (engine/matmul.cpp: weight_maps). w_maps[0], [1]: W's quants {64 B of a group, row,
  // group} and scales {16 B of 4 groups, row, 4-group unit}; [2], [3]: the same of W_up (gated).
  Q8TensorMap w_maps[4];
  // matvec_q8r_stream with in_norm = 1: a holds f32 rows (the residual stream; lda a multiple of
  // 4, rows 16-byte aligned), which the kernel RMS-normalizes with these weights into f16 first:
  // the input is rmsnorm(a row) * in_norm_weight, as an rmsnorm kernel would have written it.
  const float* in_norm_weight;  // f32 [k]
  float in_norm_eps;
};

using GemmQ8_0Params = Q8MatmulParams;

// Rows of W in one gemm_q8_0 tile are always 64-weight groups of k: one group per pipeline stage.
constexpr int kQ8rGroup = 64;

// Dynamic shared memory of gemm_q8_0 for its tuning constants (both paths): per stage an
// activation tile (tile_m rows of 128 B), a weight tile (tile_n rows of 64 B) and its scales
// (4 B per row); the warp-specialized path adds 2 mbarriers per stage; 1024 B of alignment slack.
constexpr int gemm_q8_0_smem_bytes(int tile_n, int tile_m, int stages, int wgmma) {
  return stages * (tile_m * 128 + tile_n * 64 + tile_n * 4) + (wgmma ? stages * 16 : 0) + 1024;
}
