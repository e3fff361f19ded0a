// Q4_K: super-blocks of 256 values in 144 bytes.
//   bytes 0..1    f16 d      scale of the sub-block scales
//   bytes 2..3    f16 dmin   scale of the sub-block minimums
//   bytes 4..15   packed[12] eight 6-bit scales sc[s] and eight 6-bit mins m[s]
//   bytes 16..143 qs[128]    4-bit codes
// Sub-block s (0..7) covers values 32s .. 32s+31: value = (d * sc[s]) * code - dmin * m[s].
// Codes: values come in groups of 64 (sub-blocks 2g and 2g+1) sharing qs[32g .. 32g+31]; byte
// 32g+i holds value 64g+i in its low nibble and value 64g+32+i in its high nibble.
// 6-bit packing: for s < 4, sc[s] = packed[s] & 63 and m[s] = packed[s+4] & 63. For s >= 4 the
// low four bits sit in packed[s+4] (scale in the low nibble, min in the high nibble) and the
// top two bits in the otherwise unused top bits of packed[s-4] (scale) and packed[s] (min).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "gguf/quant_blocks.h"
#include "gguf/types.h"

namespace kiln::gguf::quant {
namespace {
constexpr int kBlockElems = 256;
constexpr int kBlockBytes = 144;
constexpr int kSubBlocks = 8;
constexpr int kSubElems = 32;
constexpr int kPackedOffset = 4;
constexpr int kCodesOffset = 16;
constexpr int kCodeMax = 15;
constexpr int kSixBitMax = 63;
// Scale search: candidate steps (kCodeMax + kSearchStep * t) / range for t in [-kSearchSteps, kSearchSteps].
constexpr int kSearchSteps = 10;
constexpr float kSearchStep = 0.1f;

void unpack_scale_min(const uint8_t* packed, int s, int* scale, int* min) {
  if (s < 4) {
    *scale = packed[s] & 63;
    *min = packed[s + 4] & 63;
  } else {
    *scale = (packed[s + 4] & 0x0f) | ((packed[s - 4] >> 6) << 4);
    *min = (packed[s + 4] >> 4) | ((packed[s] >> 6) << 4);
  }
}

void pack_scale_min(uint8_t* packed, int s, int scale, int min) {
  if (s < 4) {
    packed[s] = static_cast<uint8_t>((packed[s] & 0xc0) | scale);
    packed[s + 4] = static_cast<uint8_t>((packed[s + 4] & 0xc0) | min);
  } else {
    packed[s + 4] = static_cast<uint8_t>((scale & 0x0f) | ((min & 0x0f) << 4));
    packed[s - 4] = static_cast<uint8_t>((packed[s - 4] & 0x3f) | ((scale >> 4) << 6));
    packed[s] = static_cast<uint8_t>((packed[s] & 0x3f) | ((min >> 4) << 6));
  }
}

int clamp_code(float x, int hi) {
  return static_cast<int>(std::nearbyint(std::fmin(std::fmax(x, 0.0f), float(hi))));
}

// Fits value ~= scale * code - min (scale >= 0, min >= 0) to one sub-block: tries a few code
// steps around range / 15, and for each the least-squares scale and offset of those codes.
void fit_sub_block(const float* x, float* scale_out, float* min_out) {
  float lo = 0.0f, hi = x[0];
  for (int i = 0; i < kSubElems; ++i) {
    lo = std::fmin(lo, x[i]);
    hi = std::fmax(hi, x[i]);
  }
  float range = hi - lo;
  if (!(range > 0.0f)) {  // constant block (or NaN): the offset alone represents it
    *scale_out = 0.0f;
    *min_out = -lo;
    return;
  }
  auto error_of = [&](float scale, float offset, const int* codes) {
    float error = 0.0f;
    for (int i = 0; i < kSubElems; ++i) {
      float diff = scale * codes[i] + offset - x[i];
      error += diff * diff;
    }
    return error;
  };
  int codes[kSubElems];
  float best_scale = range / kCodeMax, best_offset = lo;
  for (int i = 0; i < kSubElems; ++i) codes[i] = clamp_code((x[i] - lo) / best_scale, kCodeMax);
  float best_error = error_of(best_scale, best_offset, codes);
  for (int t = -kSearchSteps; t <= kSearchSteps; ++t) {
    float inv_step = (kCodeMax + kSearchStep * t) / range;
    double n = kSubElems, sum_l = 0, sum_ll = 0, sum_x = 0, sum_xl = 0;
    for (int i = 0; i < kSubElems; ++i) {
      codes[i] = clamp_code((x[i] - lo) * inv_step, kCodeMax);
      sum_l += codes[i];
      sum_ll += double(codes[i]) * codes[i];
      sum_x += x[i];
      sum_xl += double(x[i]) * codes[i];
    }
    double det = n * sum_ll - sum_l * sum_l;
    if (det <= 0) continue;
    double scale = (n * sum_xl - sum_x * sum_l) / det;
    double offset = (sum_ll * sum_x - sum_l * sum_xl) / det;
    if (offset > 0) {  // the format only subtracts a minimum: refit through zero
      offset = 0;
      scale = sum_xl / sum_ll;
    }
    if (scale < 0) continue;
    float error = error_of(float(scale), float(offset), codes);
    if (error < best_error) {
      best_error = error;
      best_scale = float(scale);
      best_offset = float(offset);
    }
  }
  *scale_out = best_scale;
  *min_out = -best_offset;
}

}  // namespace

void dequantize_q4_k(const uint8_t* src, float* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += kBlockBytes, dst += kBlockElems) {
    float d = f16_to_f32(load_u16(src));
    float dmin = f16_to_f32(load_u16(src + 2));
    const uint8_t* packed = src + kPackedOffset;
    const uint8_t* qs = src + kCodesOffset;
    for (int s = 0; s < kSubBlocks; ++s) {
      int scale, min;
      unpack_scale_min(packed, s, &scale, &min);
      float step = d * static_cast<float>(scale);
      float offset = dmin * static_cast<float>(min);
      const uint8_t* bytes = qs + 32 * (s / 2);
      int shift = (s % 2) * 4;
      for (int i = 0; i < kSubElems; ++i) {
        dst[kSubElems * s + i] = step * static_cast<float>((bytes[i] >> shift) & 0x0f) - offset;
      }
    }
  }
}

void quantize_q4_k(const float* src, uint8_t* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += kBlockElems, dst += kBlockBytes) {
    float scales[kSubBlocks], mins[kSubBlocks];
    float max_scale = 0.0f, max_min = 0.0f;
    for (int s = 0; s < kSubBlocks; ++s) {
      fit_sub_block(src + kSubElems * s, &scales[s], &mins[s]);
      max_scale = std::fmax(max_scale, scales[s]);
      max_min = std::fmax(max_min, mins[s]);
    }
    // Sub-block scales and mins become 6-bit multiples of d and dmin.
    float inv_d = max_scale > 0 ? kSixBitMax / max_scale : 0.0f;
    float inv_dmin = max_min > 0 ? kSixBitMax / max_min : 0.0f;
    std::memset(dst, 0, kBlockBytes);
    store_u16(dst, f32_to_f16(max_scale / kSixBitMax));
    store_u16(dst + 2, f32_to_f16(max_min / kSixBitMax));
    uint8_t* packed = dst + kPackedOffset;
    for (int s = 0; s < kSubBlocks; ++s) {
      pack_scale_min(packed, s, clamp_code(scales[s] * inv_d, kSixBitMax),
                     clamp_code(mins[s] * inv_dmin, kSixBitMax));
    }
    // Codes against the scales as stored (f16 d, 6-bit sc), so rounding there is compensated.
    float d = f16_to_f32(load_u16(dst));
    float dmin = f16_to_f32(load_u16(dst + 2));
    uint8_t* qs = dst + kCodesOffset;
    for (int s = 0; s < kSubBlocks; ++s) {
      int scale, min;
      unpack_scale_min(packed, s, &scale, &min);
      float step = d * static_cast<float>(scale);
      float offset = dmin * static_cast<float>(min);
      uint8_t* bytes = qs + 32 * (s / 2);
      int shift = (s % 2) * 4;
      for (int i = 0; i < kSubElems; ++i) {
        int code = step != 0.0f ? clamp_code((src[kSubElems * s + i] + offset) / step, kCodeMax) : 0;
        bytes[i] = static_cast<uint8_t>(bytes[i] | (code << shift));
      }
    }
  }
}

}  // namespace kiln::gguf::quant
