// Q8_0: blocks of 32 values, 34 bytes: f16 scale d, then int8 q[32]; value = d * q.
#include <algorithm>
#include <cmath>

#include "gguf/quant_blocks.h"
#include "gguf/types.h"

namespace kiln::gguf::quant {
namespace {
constexpr int kBlockElems = 32;
constexpr int kBlockBytes = 34;
constexpr int kQuantMax = 127;  // q in [-127, 127]: symmetric, -128 unused
}  // namespace

void dequantize_q8_0(const uint8_t* src, float* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += kBlockBytes, dst += kBlockElems) {
    float d = f16_to_f32(load_u16(src));
    const int8_t* q = reinterpret_cast<const int8_t*>(src + 2);
    for (int i = 0; i < kBlockElems; ++i) dst[i] = d * static_cast<float>(q[i]);
  }
}

// Reference scale choice: d = max|x| / 127, q = round(x / d). The reciprocal is taken of the
// float d (not of its f16 rounding), as ggml's reference quantizer does, so files match.
void quantize_q8_0(const float* src, uint8_t* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += kBlockElems, dst += kBlockBytes) {
    float amax = 0.0f;
    for (int i = 0; i < kBlockElems; ++i) amax = std::max(amax, std::fabs(src[i]));
    float d = amax / kQuantMax;
    float inv_d = d != 0.0f ? 1.0f / d : 0.0f;
    store_u16(dst, f32_to_f16(d));
    for (int i = 0; i < kBlockElems; ++i) {
      // fmin/fmax also map a NaN input to a valid code instead of an undefined conversion.
      float scaled = std::fmin(std::fmax(src[i] * inv_d, -float(kQuantMax)), float(kQuantMax));
      dst[2 + i] = static_cast<uint8_t>(static_cast<int8_t>(round_to_int(scaled)));
    }
  }
}

}  // namespace kiln::gguf::quant
