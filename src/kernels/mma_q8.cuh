#pragma once
// Device helpers of the q8r matrix kernels (gemm_q8_0, matvec_q8r) beside mma_sync.cuh's: L1-bypassing
// global loads, the q8r dequantization straight into mma A fragments, the map
// from a weight tile's rows to the (gate/up) matrices, and the output epilogues.
//
// Both kernels compute out^T = W · A^T: the weights are the mma's A operand (16 rows per
// fragment) and the tokens its N side. q8r stores each 64-weight group of a row permuted so that
// the 16 bytes at offset 16c are exactly the A-fragment words of lane quad c for the group's
// four k16 steps (see engine/q8_0_repack.h): one 16-byte load per row and no shuffles.
#include "common.cuh"
#include "gemm_q8_0_params.h"
#include "mma_sync.cuh"

namespace kiln_q8 {

using namespace kiln_mma;

// ---- global loads that bypass L1 allocation (weights are streamed once) ----
__device__ __forceinline__ uint4 ldg128_stream(const void* p) {
  uint4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}
__device__ __forceinline__ u32 ldg32(const void* p) {
  u32 v;
  asm volatile("ld.global.nc.u32 %0, [%1];" : "=r"(v) : "l"(p));
  return v;
}

// ---- q8r dequantization ----
// One q8r word holds a lane's 4 weights of one row for one k16 step: bytes (k 2c, 2c+1, 2c+8,
// 2c+9). Returns them as f16 pairs: lo = (2c, 2c+1), hi = (2c+8, 2c+9), each weight = the f16
// rounding of q * d (exactly what the CPU reference computes). `scale2` is d in both halves.
// Bias to unsigned, put each byte in the mantissa of 1024.0 (f16 0x6400), subtract 1152
// (exact: q + 1152 < 2048), multiply by d (one rounding).
__device__ __forceinline__ void dequant_q8x4(u32 word, u32 scale2, u32& lo, u32& hi) {
  const u32 biased = word ^ 0x80808080u;
  const u32 lo_raw = __byte_perm(biased, 0x64646464u, 0x4140u);
  const u32 hi_raw = __byte_perm(biased, 0x64646464u, 0x4342u);
  const u32 offset = 0x64806480u;  // 1152.0 in both halves
  asm("sub.rn.f16x2 %0, %1, %2;" : "=r"(lo) : "r"(lo_raw), "r"(offset));
  asm("sub.rn.f16x2 %0, %1, %2;" : "=r"(hi) : "r"(hi_raw), "r"(offset));
  asm("mul.rn.f16x2 %0, %1, %2;" : "=r"(lo) : "r"(lo), "r"(scale2));
  asm("mul.rn.f16x2 %0, %1, %2;" : "=r"(hi) : "r"(hi), "r"(scale2));
}
// The low / high f16 of a word, in both halves.
__device__ __forceinline__ u32 splat_lo(u32 w) { return __byte_perm(w, 0, 0x1010u); }
__device__ __forceinline__ u32 splat_hi(u32 w) { return __byte_perm(w, 0, 0x3232u); }

// The A fragment of k16 step j (0..3) of a 64-weight group from the two q8r 16-byte loads of
// rows g and g+8 (`row_lo`, `row_hi`) and their scales (`scales_lo/hi`: the group's two f16 d,
// block 0 in the low half). a0..a3 in the m16n8k16 order.
// `j` must be a compile-time constant after unrolling (it selects registers).
__device__ __forceinline__ void q8r_fragment(int j, const uint4& row_lo, const uint4& row_hi, u32 scales_lo,
                                             u32 scales_hi, u32 (&a)[4]) {
  const u32 w_lo = j == 0 ? row_lo.x : j == 1 ? row_lo.y : j == 2 ? row_lo.z : row_lo.w;
  const u32 w_hi = j == 0 ? row_hi.x : j == 1 ? row_hi.y : j == 2 ? row_hi.z : row_hi.w;
  const u32 s_lo = j < 2 ? splat_lo(scales_lo) : splat_hi(scales_lo);
  const u32 s_hi = j < 2 ? splat_lo(scales_hi) : splat_hi(scales_hi);
  dequant_q8x4(w_lo, s_lo, a[0], a[2]);
  dequant_q8x4(w_hi, s_hi, a[1], a[3]);
}

// ---- weight tile rows ----
// A tile of TILE_ROWS weight rows. Plain: tile row r is row tile*TILE_ROWS + r of W. Gated: rows
// alternate in groups of 8 between W_gate and W_up, tile row r being row tile*TILE_ROWS/2 +
// (r/16)*8 + r%8 of W_gate (r/8 even) or W_up (odd), so an mma fragment's rows g and g+8 are
// the gate and up rows of one output feature and the epilogue combines them in registers.
struct TileRow {
  int matrix;  // 0: W (W_gate), 1: W_up
  int row;     // weight row = output feature
};
template <bool GATED>
__device__ __forceinline__ TileRow tile_row(int tile, int tile_rows, int r) {
  if (!GATED) return TileRow{0, tile * tile_rows + r};
  return TileRow{(r >> 3) & 1, tile * (tile_rows / 2) + (r >> 4) * 8 + (r & 7)};
}

// ---- epilogue ----
__device__ __forceinline__ float act_silu(float x) { return x / (1.0f + __expf(-x)); }
__device__ __forceinline__ float act_gelu_tanh(float x) {
  const float inner = 0.7978845608028654f * (x + 0.044715f * x * x * x);
  return 0.5f * x * (1.0f + tanhf(inner));
}
template <int ACT>
__device__ __forceinline__ float activate(float x) {
  if constexpr (ACT == kMatmulActSilu) return act_silu(x);
  else if constexpr (ACT == kMatmulActGeluTanh) return act_gelu_tanh(x);
  else return x;
}

// Writes out[token][feature] for one value (plain kinds). Bounds are the caller's.
template <int OUT, int HAS_BIAS>
__device__ __forceinline__ void store_out(const Q8MatmulParams& p, int token, int feature, float v) {
  if constexpr (HAS_BIAS) v += p.bias[feature];
  const long long at = static_cast<long long>(token) * p.ldo + feature;
  if constexpr (OUT == kMatmulOutF16) {
    static_cast<kiln_dev::f16_bits*>(p.out)[at] = kiln_dev::f32_to_f16(v);
  } else if constexpr (OUT == kMatmulOutF32) {
    static_cast<float*>(p.out)[at] = v;
  } else if constexpr (OUT == kMatmulOutAddF32) {
    float* o = static_cast<float*>(p.out) + at;
    *o = *o + v;
  }
}
// Gated: out f16 = act(gate + bias) * (up + bias2).
template <int ACT, int HAS_BIAS>
__device__ __forceinline__ void store_gated(const Q8MatmulParams& p, int token, int feature, float gate, float up) {
  if constexpr (HAS_BIAS) {
    gate += p.bias[feature];
    up += p.bias2[feature];
  }
  const long long at = static_cast<long long>(token) * p.ldo + feature;
  static_cast<kiln_dev::f16_bits*>(p.out)[at] = kiln_dev::f32_to_f16(activate<ACT>(gate) * up);
}

// Stores one m16n8 C fragment: c[0..3] = (row g, token t), (g, t+1), (g+8, t), (g+8, t+1), rows
// being tile rows `row0 + g (+8)` of tile `tile`, tokens `token0 + 2c (+1)` (g = lane/4, c = lane%4).
template <int OUT, int ACT, int HAS_BIAS>
__device__ __forceinline__ void store_fragment(const Q8MatmulParams& p, int n, int m, int tile, int tile_rows,
                                               int row0, int token0, const float* c) {
  const int lane = threadIdx.x & 31;
  const int g = lane >> 2, t = token0 + 2 * (lane & 3);
  if constexpr (OUT == kMatmulOutGatedF16) {
    const int feature = tile_row<true>(tile, tile_rows, row0 + g).row;  // rows g / g+8: gate / up
    if (feature >= n) return;
    if (t < m) store_gated<ACT, HAS_BIAS>(p, t, feature, c[0], c[2]);
    if (t + 1 < m) store_gated<ACT, HAS_BIAS>(p, t + 1, feature, c[1], c[3]);
  } else {
    const int f_lo = tile * tile_rows + row0 + g, f_hi = f_lo + 8;
    if (t < m) {
      if (f_lo < n) store_out<OUT, HAS_BIAS>(p, t, f_lo, c[0]);
      if (f_hi < n) store_out<OUT, HAS_BIAS>(p, t, f_hi, c[2]);
    }
    if (t + 1 < m) {
      if (f_lo < n) store_out<OUT, HAS_BIAS>(p, t + 1, f_lo, c[1]);
      if (f_hi < n) store_out<OUT, HAS_BIAS>(p, t + 1, f_hi, c[3]);
    }
  }
}

}  // namespace kiln_q8
