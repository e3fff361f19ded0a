// Q4_0: blocks of 32 values, 18 bytes: f16 scale d, then 16 bytes of 4-bit codes. Byte j holds
// element j in its low nibble and element j + 16 in its high nibble; value = d * (code - 8).
#include <algorithm>
#include <cmath>

#include "gguf/quant_blocks.h"
#include "gguf/types.h"

namespace kiln::gguf::quant {
namespace {
constexpr int kBlockElems = 32;
constexpr int kBlockBytes = 18;
constexpr int kHalf = kBlockElems / 2;
constexpr int kCodeOffset = 8;  // codes 0..15 stand for -8..7
}  // namespace

void dequantize_q4_0(const uint8_t* src, float* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += kBlockBytes, dst += kBlockElems) {
    float d = f16_to_f32(load_u16(src));
    const uint8_t* codes = src + 2;
    for (int j = 0; j < kHalf; ++j) {
      dst[j] = d * static_cast<float>((codes[j] & 0x0f) - kCodeOffset);
      dst[j + kHalf] = d * static_cast<float>((codes[j] >> 4) - kCodeOffset);
    }
  }
}

// Reference scale choice: the value with the largest magnitude maps exactly to code 0 (-8),
// so d = that value / -8 (d may be negative); code = trunc(x / d + 8.5) clipped to 15.
void quantize_q4_0(const float* src, uint8_t* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += kBlockElems, dst += kBlockBytes) {
    float amax = 0.0f, extreme = 0.0f;
    for (int i = 0; i < kBlockElems; ++i) {
      if (std::fabs(src[i]) > amax) {
        amax = std::fabs(src[i]);
        extreme = src[i];
      }
    }
    float d = extreme / -kCodeOffset;
    float inv_d = d != 0.0f ? 1.0f / d : 0.0f;
    store_u16(dst, f32_to_f16(d));
    auto code = [&](float x) {
      // x / d + 8.5 lies in [0.5, 16.5] for finite input; truncation then rounds to nearest.
      // fmin/fmax also map a NaN input to a valid code instead of an undefined conversion.
      float shifted = std::fmin(std::fmax(x * inv_d + (kCodeOffset + 0.5f), 0.0f), 15.0f);
      return static_cast<uint8_t>(shifted);
    };
    for (int j = 0; j < kHalf; ++j) {
      dst[2 + j] = static_cast<uint8_t>(code(src[j]) | (code(src[j + kHalf]) << 4));
    }
  }
}

}  // namespace kiln::gguf::quant
