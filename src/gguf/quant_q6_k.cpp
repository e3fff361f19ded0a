// Q6_K: super-blocks of 256 values in 210 bytes.
//   bytes 0..127   ql[128]  low 4 bits of the 6-bit codes
//   bytes 128..191 qh[64]   high 2 bits of the codes, four codes per byte
//   bytes 192..207 sc[16]   int8 scale of each 16-value sub-block (value v uses sc[v / 16])
//   bytes 208..209 f16 d    super-block scale
// value = (d * sc[v / 16]) * (code - 32), code in 0..63.
// Codes come in two halves of 128 values (h = 0, 1) using ql[64h ..] and qh[32h ..]. Inside a
// half, value 32k + i (k = 0..3, i = 0..31) takes its low 4 bits from
//   k = 0: ql[i] & 15,  k = 1: ql[i + 32] & 15,  k = 2: ql[i] >> 4,  k = 3: ql[i + 32] >> 4
// and its high 2 bits from (qh[i] >> 2k) & 3.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "gguf/quant_blocks.h"
#include "gguf/types.h"

namespace kiln::gguf::quant {
namespace {
constexpr int kBlockElems = 256;
constexpr int kBlockBytes = 210;
constexpr int kHalfElems = 128;
constexpr int kSubElems = 16;
constexpr int kSubBlocks = kBlockElems / kSubElems;
constexpr int kHighOffset = 128;
constexpr int kScalesOffset = 192;
constexpr int kDOffset = 208;
constexpr int kCodeOffset = 32;  // codes 0..63 stand for -32..31
constexpr int kScaleMin = -128, kScaleMax = 127;
// Scale search: candidate steps extreme / -(32 + kSearchStep * t) for t in [-kSearchSteps, kSearchSteps].
constexpr int kSearchSteps = 9;
constexpr float kSearchStep = 0.1f;

int clamp_round(float x, int lo, int hi) {
  return static_cast<int>(std::nearbyint(std::fmin(std::fmax(x, float(lo)), float(hi))));
}

// Low 4 bits and high 2 bits of the code of value `v` (0..255): byte indices and shifts.
struct CodePlace {
  int low_byte, low_shift, high_byte, high_shift;
};
CodePlace code_place(int v) {
  int half = v / kHalfElems, k = (v % kHalfElems) / 32, i = v % 32;
  return {64 * half + i + 32 * (k % 2), 4 * (k / 2), kHighOffset + 32 * half + i, 2 * k};
}

// Signed scale for one 16-value sub-block: the value of largest magnitude maps near code -32
// (the asymmetric end of -32..31); a few nearby steps are tried, each refit by least squares.
float fit_sub_block(const float* x) {
  float amax = 0.0f, extreme = 0.0f;
  for (int i = 0; i < kSubElems; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      extreme = x[i];
    }
  }
  if (!(amax > 0.0f)) return 0.0f;
  float best_scale = 0.0f, best_error = INFINITY;
  for (int t = -kSearchSteps; t <= kSearchSteps; ++t) {
    float inv_step = -(kCodeOffset + kSearchStep * t) / extreme;
    double sum_xl = 0, sum_ll = 0;
    int codes[kSubElems];
    for (int i = 0; i < kSubElems; ++i) {
      codes[i] = clamp_round(x[i] * inv_step, -kCodeOffset, kCodeOffset - 1);
      sum_xl += double(x[i]) * codes[i];
      sum_ll += double(codes[i]) * codes[i];
    }
    if (sum_ll <= 0) continue;
    float scale = float(sum_xl / sum_ll);
    float error = 0.0f;
    for (int i = 0; i < kSubElems; ++i) {
      float diff = scale * codes[i] - x[i];
      error += diff * diff;
    }
    if (error < best_error) {
      best_error = error;
      best_scale = scale;
    }
  }
  return best_scale;
}

}  // namespace

void dequantize_q6_k(const uint8_t* src, float* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += kBlockBytes, dst += kBlockElems) {
    float d = f16_to_f32(load_u16(src + kDOffset));
    const int8_t* scales = reinterpret_cast<const int8_t*>(src + kScalesOffset);
    for (int v = 0; v < kBlockElems; ++v) {
      CodePlace p = code_place(v);
      int code = ((src[p.low_byte] >> p.low_shift) & 0x0f) |
                 (((src[p.high_byte] >> p.high_shift) & 0x03) << 4);
      float step = d * static_cast<float>(scales[v / kSubElems]);
      dst[v] = step * static_cast<float>(code - kCodeOffset);
    }
  }
}

void quantize_q6_k(const float* src, uint8_t* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += kBlockElems, dst += kBlockBytes) {
    float scales[kSubBlocks];
    float amax = 0.0f, extreme = 0.0f;
    for (int s = 0; s < kSubBlocks; ++s) {
      scales[s] = fit_sub_block(src + kSubElems * s);
      if (std::fabs(scales[s]) > amax) {
        amax = std::fabs(scales[s]);
        extreme = scales[s];
      }
    }
    std::memset(dst, 0, kBlockBytes);
    // The sub-block scale of largest magnitude maps to -128, the asymmetric end of int8.
    float inv_d = amax > 0.0f ? float(kScaleMin) / extreme : 0.0f;
    store_u16(dst + kDOffset, f32_to_f16(amax > 0.0f ? 1.0f / inv_d : 0.0f));
    int8_t* stored_scales = reinterpret_cast<int8_t*>(dst + kScalesOffset);
    for (int s = 0; s < kSubBlocks; ++s) {
      stored_scales[s] = static_cast<int8_t>(clamp_round(scales[s] * inv_d, kScaleMin, kScaleMax));
    }
    // Codes against the scales as stored (f16 d, int8 sc).
    float d = f16_to_f32(load_u16(dst + kDOffset));
    for (int v = 0; v < kBlockElems; ++v) {
      float step = d * static_cast<float>(stored_scales[v / kSubElems]);
      int value = step != 0.0f ? clamp_round(src[v] / step, -kCodeOffset, kCodeOffset - 1) : 0;
      int code = value + kCodeOffset;
      CodePlace p = code_place(v);
      dst[p.low_byte] = static_cast<uint8_t>(dst[p.low_byte] | ((code & 0x0f) << p.low_shift));
      dst[p.high_byte] = static_cast<uint8_t>(dst[p.high_byte] | ((code >> 4) << p.high_shift));
    }
  }
}

}  // namespace kiln::gguf::quant
