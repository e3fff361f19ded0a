#pragma once
// q8r: how kiln keeps Q8_0 weights on the GPU, made once at upload from the GGUF's blocks. Both
// quantized matrix kernels (gemm_q8_0 for prefill, matvec_q8r for decode) read this one copy.
//
// GGUF Q8_0: a row of k weights is k/32 blocks of {f16 d; int8 q[32]} (34 B), weight = d * q.
// q8r splits the two and aligns them, keeping 1.0625 bytes per weight (+ padding when 64 ∤ k):
//   qs: int8 [n][k_padded], k_padded = k rounded up to 64; row stride k_padded bytes (64-byte
//       aligned rows when the base is); the padding holds zeros.
//   d:  f16  [n][k_padded / 32]: the scale of block b of row r at d[r * k_padded / 32 + b]; a
//       padding block has d = 0.
// Inside each 64-weight group of a row (k = 64G .. 64G+63) the bytes are permuted so that one
// aligned 16-byte load of lane quad c (bytes 16c .. 16c+15) holds exactly that lane's weights of
// an m16n8k16 A fragment for the group's four k16 steps: byte 16c + 4j + b holds
//   k = 64G + 16j + 2c + (b & 1) + 8 (b >> 1)      (j = 0..3, c = 0..3, b = 0..3).
// Why: the kernels multiply W · Aᵀ with W as the tensor-core A operand; with this order a lane
// dequantizes its registers in place (no shuffles, no shared-memory round trip in the mat-vec,
// and a plain 16-byte shared load in the GEMM). A scalar reader uses q8r_qs_index().
#include <cstdint>
#include <vector>

namespace kiln::engine {

struct Q8rLayout {
  int64_t n = 0;         // rows (output features)
  int64_t k = 0;         // weights per row (input features), a multiple of 32
  int64_t k_padded = 0;  // k rounded up to 64

  int64_t qs_bytes() const { return n * k_padded; }
  int64_t d_count() const { return n * (k_padded / 32); }  // f16 scales
  int64_t d_bytes() const { return d_count() * 2; }
};

// Throws kiln::Error unless n >= 1 and k is a positive multiple of 32.
Q8rLayout q8r_layout(int64_t n, int64_t k);

// Byte offset in qs of weight (row, col).
inline int64_t q8r_qs_index(const Q8rLayout& layout, int64_t row, int64_t col) {
  const int64_t group = col / 64, in_group = col % 64;
  const int64_t j = in_group / 16, r = in_group % 16;  // k16 step, position in it
  const int64_t half = r / 8, c = (r % 8) / 2, b = (r % 2) + 2 * half;
  return row * layout.k_padded + group * 64 + 16 * c + 4 * j + b;
}

// Repacks n rows of GGUF Q8_0 blocks (`blocks`: n * k / 32 blocks of 34 bytes, row-major) into
// qs (layout.qs_bytes()) and d (layout.d_count() f16 bits), padding included.
void q8r_repack(const void* blocks, const Q8rLayout& layout, int8_t* qs, uint16_t* d);

// The weights the kernels multiply with: w[row][col] = float(f16(q * d)) (the product rounded
// to f16 once, as the kernels dequantize), for all n rows, k columns (no padding): [n][k].
std::vector<float> q8r_dequantize(const int8_t* qs, const uint16_t* d, const Q8rLayout& layout);

}  // namespace kiln::engine
