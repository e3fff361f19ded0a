// MXFP4 (OCP microscaling FP4): blocks of 32 values, 17 bytes: one E8M0 exponent byte e, then
// 16 bytes of FP4 (E2M1) codes; byte j holds element j in its low nibble and element j + 16
// in its high nibble. value = fp4(code) * 2^(e - 127).
// E2M1: bit 3 is the sign, bits 0..2 index the magnitudes {0, 0.5, 1, 1.5, 2, 3, 4, 6}.
// We keep the magnitudes doubled as integers {0, 1, 2, 3, 4, 6, 8, 12} and scale by
// 2^(e - 128) instead: the same numbers, and every product is exact in float.
#include <algorithm>
#include <cmath>

#include "gguf/quant_blocks.h"

namespace kiln::gguf::quant {
namespace {
constexpr int kBlockElems = 32;
constexpr int kBlockBytes = 17;
constexpr int kHalf = kBlockElems / 2;
constexpr int kDoubledFp4[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};
constexpr int kExponentBias = 127;
// The largest E2M1 magnitude is 6 = 1.5 * 2^2: the reference quantizer picks the exponent so
// that the block's largest magnitude lands in [4, 8) * 2^(e - 127), i.e. e = floor(log2 amax) - 2.
constexpr int kLargestFp4Exponent = 2;

// 2^(e - 128): the scale of the doubled table. Exact for every e (e = 0, 1 give subnormals).
float half_scale(uint8_t e) { return std::ldexp(1.0f, static_cast<int>(e) - kExponentBias - 1); }

// Index of the table entry nearest to x / scale; the first (lowest index) wins ties.
uint8_t nearest_code(float x, float scale) {
  int best = 0;
  float best_error = std::fabs(kDoubledFp4[0] * scale - x);
  for (int i = 1; i < 16; ++i) {
    float error = std::fabs(kDoubledFp4[i] * scale - x);
    if (error < best_error) {
      best = i;
      best_error = error;
    }
  }
  return static_cast<uint8_t>(best);
}

}  // namespace

void dequantize_mxfp4(const uint8_t* src, float* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += kBlockBytes, dst += kBlockElems) {
    float scale = half_scale(src[0]);
    const uint8_t* codes = src + 1;
    for (int j = 0; j < kHalf; ++j) {
      dst[j] = static_cast<float>(kDoubledFp4[codes[j] & 0x0f]) * scale;
      dst[j + kHalf] = static_cast<float>(kDoubledFp4[codes[j] >> 4]) * scale;
    }
  }
}

void quantize_mxfp4(const float* src, uint8_t* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += kBlockElems, dst += kBlockBytes) {
    float amax = 0.0f;
    for (int i = 0; i < kBlockElems; ++i) amax = std::max(amax, std::fabs(src[i]));
    int e = 0;
    if (amax > 0.0f) {
      // Clamped so that tiny blocks get e = 0 and huge ones stay below the NaN code 255.
      float unbiased = std::floor(std::log2(amax)) - kLargestFp4Exponent;
      e = static_cast<int>(std::clamp(unbiased + kExponentBias, 0.0f, 254.0f));
    }
    float scale = half_scale(static_cast<uint8_t>(e));
    dst[0] = static_cast<uint8_t>(e);
    for (int j = 0; j < kHalf; ++j) {
      dst[1 + j] = static_cast<uint8_t>(nearest_code(src[j], scale) |
                                        (nearest_code(src[j + kHalf], scale) << 4));
    }
  }
}

}  // namespace kiln::gguf::quant
