// IEEE binary16 and bfloat16 <-> float, bit-exact, round-to-nearest-even, NaN and Inf kept.
#include <bit>
#include <cstdint>

#include "gguf/types.h"

namespace kiln::gguf {
namespace {

// binary32 fields.
constexpr uint32_t kF32SignBit = 0x80000000u;
constexpr uint32_t kF32ExpMask = 0x7f800000u;  // also +Inf
constexpr uint32_t kF32MantMask = 0x007fffffu;
constexpr int kF32MantBits = 23;
constexpr int kF32Bias = 127;
// binary16 fields.
constexpr uint16_t kF16ExpMask = 0x7c00;  // also +Inf
constexpr uint16_t kF16QuietBit = 0x0200;
constexpr int kF16MantBits = 10;
constexpr int kF16Bias = 15;
constexpr int kMantShift = kF32MantBits - kF16MantBits;  // 13 bits dropped
// |x| at or above this rounds to Inf: halfway between 65504 (largest f16) and 65536.
constexpr uint32_t kF16OverflowBits = 0x477ff000u;
// |x| below 2^-14 becomes an f16 subnormal (or zero).
constexpr uint32_t kF16MinNormalBits = 0x38800000u;

// Rounds `value >> shift` to nearest, ties to even (shift >= 1).
uint32_t shift_round_even(uint32_t value, int shift) {
  uint32_t kept = value >> shift;
  uint32_t rest = value & ((1u << shift) - 1);
  uint32_t half = 1u << (shift - 1);
  if (rest > half || (rest == half && (kept & 1))) ++kept;
  return kept;
}

}  // namespace

float f16_to_f32(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h & kF16ExpMask) >> kF16MantBits;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | kF32ExpMask | (mant << kMantShift);  // Inf, or NaN with its payload
  } else if (exp != 0) {
    bits = sign | ((exp - kF16Bias + kF32Bias) << kF32MantBits) | (mant << kMantShift);
  } else {
    // Zero or subnormal: mant * 2^-24 is exact in binary32.
    float magnitude = static_cast<float>(mant) * 0x1p-24f;
    bits = sign | std::bit_cast<uint32_t>(magnitude);
  }
  return std::bit_cast<float>(bits);
}

uint16_t f32_to_f16(float f) {
  uint32_t bits = std::bit_cast<uint32_t>(f);
  uint16_t sign = static_cast<uint16_t>((bits & kF32SignBit) >> 16);
  uint32_t abs = bits & ~kF32SignBit;
  if (abs >= kF32ExpMask) {
    if (abs == kF32ExpMask) return sign | kF16ExpMask;
    // NaN: keep the top payload bits and force the quiet bit so the result stays a NaN.
    return sign | kF16ExpMask | kF16QuietBit | static_cast<uint16_t>((abs & kF32MantMask) >> kMantShift);
  }
  if (abs >= kF16OverflowBits) return sign | kF16ExpMask;
  if (abs >= kF16MinNormalBits) {
    // Rebias the exponent in place; a mantissa carry correctly bumps the exponent.
    uint32_t rebased = abs - (static_cast<uint32_t>(kF32Bias - kF16Bias) << kF32MantBits);
    return sign | static_cast<uint16_t>(shift_round_even(rebased, kMantShift));
  }
  // Subnormal result: value = m * 2^(e - 150) with the implicit bit; in units of 2^-24 that is
  // m >> (126 - e). Shifts of 25 or more leave less than half a unit: zero.
  uint32_t exp = abs >> kF32MantBits;
  int shift = 126 - static_cast<int>(exp);
  if (exp == 0 || shift > 24) return sign;
  uint32_t mant = (abs & kF32MantMask) | (1u << kF32MantBits);
  return sign | static_cast<uint16_t>(shift_round_even(mant, shift));
}

float bf16_to_f32(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

uint16_t f32_to_bf16(float f) {
  uint32_t bits = std::bit_cast<uint32_t>(f);
  if ((bits & ~kF32SignBit) > kF32ExpMask) {
    return static_cast<uint16_t>((bits >> 16) | 0x0040);  // NaN: keep it a (quiet) NaN
  }
  // bf16 is the top half of a float: round the low 16 bits away, ties to even. Overflow
  // carries into the exponent and yields Inf, as it should.
  return static_cast<uint16_t>(shift_round_even(bits, 16));
}

}  // namespace kiln::gguf
