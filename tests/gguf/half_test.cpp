// f16 / bf16 conversions: hand-picked bit patterns (rounding ties, subnormals, overflow, NaN)
// and, where the compiler has _Float16, every f16 value and many random floats against it.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <random>

#include "gguf/types.h"

using namespace kiln::gguf;

namespace {
float from_bits(uint32_t b) { return std::bit_cast<float>(b); }
}  // namespace

TEST(F16, ExactValues) {
  EXPECT_EQ(f32_to_f16(0.0f), 0x0000);
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_f16(0.5f), 0x3800);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);        // largest finite f16
  EXPECT_EQ(f32_to_f16(0x1p-14f), 0x0400);        // smallest normal
  EXPECT_EQ(f32_to_f16(0x1p-24f), 0x0001);        // smallest subnormal
  EXPECT_EQ(f32_to_f16(0x3p-24f), 0x0003);
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0001), 0x1p-24f);
  EXPECT_EQ(f16_to_f32(0x03ff), 1023 * 0x1p-24f);  // largest subnormal
  EXPECT_EQ(f16_to_f32(0x3555), 0x1.554p-2f);      // 1/3 rounded: 0.333251953125
}

TEST(F16, RoundsToNearestEven) {
  // 1 + 2^-11 is halfway between 1 (even mantissa) and 1 + 2^-10: stays at 1.
  EXPECT_EQ(f32_to_f16(1.0f + 0x1p-11f), 0x3c00);
  // 1 + 3 * 2^-11 is halfway between 0x3c01 (odd) and 0x3c02: goes to the even one.
  EXPECT_EQ(f32_to_f16(1.0f + 0x3p-11f), 0x3c02);
  // Just above halfway rounds up, just below rounds down.
  EXPECT_EQ(f32_to_f16(std::nextafter(1.0f + 0x1p-11f, 2.0f)), 0x3c01);
  EXPECT_EQ(f32_to_f16(std::nextafter(1.0f + 0x3p-11f, 0.0f)), 0x3c01);
  // A mantissa carry moves to the next exponent: 2 - 2^-12 -> 2.
  EXPECT_EQ(f32_to_f16(2.0f - 0x1p-12f), 0x4000);
  // Subnormal ties: 2^-25 is half of the smallest subnormal -> 0 (even); 3 * 2^-25 -> 2 * 2^-24.
  EXPECT_EQ(f32_to_f16(0x1p-25f), 0x0000);
  EXPECT_EQ(f32_to_f16(0x3p-25f), 0x0002);
  EXPECT_EQ(f32_to_f16(std::nextafter(0x1p-25f, 1.0f)), 0x0001);
  EXPECT_EQ(f32_to_f16(-0x1p-26f), 0x8000);
  // Largest subnormal + half a step rounds up into the smallest normal.
  EXPECT_EQ(f32_to_f16(0x7ffp-25f), 0x0400);
}

TEST(F16, OverflowInfAndNaN) {
  EXPECT_EQ(f32_to_f16(65519.996f), 0x7bff);  // below the halfway point to 65536
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);    // halfway, 0x7bff is odd: rounds to Inf
  EXPECT_EQ(f32_to_f16(1e10f), 0x7c00);
  EXPECT_EQ(f32_to_f16(-1e10f), 0xfc00);
  EXPECT_EQ(f32_to_f16(INFINITY), 0x7c00);
  EXPECT_EQ(f32_to_f16(-INFINITY), 0xfc00);
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7c00)));
  EXPECT_EQ(f16_to_f32(0xfc00), -INFINITY);
  // NaN stays NaN, even when its payload sits only in bits the conversion drops.
  uint16_t h = f32_to_f16(from_bits(0x7f800001));
  EXPECT_EQ(h & 0x7c00, 0x7c00);
  EXPECT_NE(h & 0x03ff, 0);
  EXPECT_EQ(f32_to_f16(from_bits(0xffc00000)) & 0x8000, 0x8000);  // sign kept
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7e00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7c01)));
}

TEST(F16, EveryValueRoundTrips) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = f16_to_f32(static_cast<uint16_t>(h));
    bool nan = (h & 0x7c00) == 0x7c00 && (h & 0x03ff) != 0;
    if (nan) {
      ASSERT_TRUE(std::isnan(f)) << h;
      // Quiet NaNs keep their payload exactly.
      if (h & 0x0200) {
        ASSERT_EQ(f32_to_f16(f), h) << h;
      }
    } else {
      ASSERT_EQ(f32_to_f16(f), h) << h;
    }
  }
}

#if defined(__FLT16_MAX__) && !defined(__clang__)
// The compiler's own conversion (libgcc, round-to-nearest-even) as an independent reference.
TEST(F16, MatchesCompilerFloat16) {
  std::mt19937 rng(42);
  for (int i = 0; i < 2000000; ++i) {
    uint32_t bits = rng();
    if (i % 2) bits = (bits & 0x8fffffffu) | 0x30000000u;  // half of them near f16's range
    float f = from_bits(bits);
    if (std::isnan(f)) continue;
    _Float16 ref = static_cast<_Float16>(f);
    ASSERT_EQ(f32_to_f16(f), std::bit_cast<uint16_t>(ref)) << std::hex << bits;
    ASSERT_EQ(f16_to_f32(std::bit_cast<uint16_t>(ref)), static_cast<float>(ref)) << std::hex << bits;
  }
}
#endif

TEST(BF16, RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f808000)), 0x3f80);  // tie, even stays
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f818000)), 0x3f82);  // tie, odd rounds up
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f808001)), 0x3f81);  // above the tie
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f807fff)), 0x3f80);  // below the tie
  EXPECT_EQ(f32_to_bf16(from_bits(0x3fffffff)), 0x4000);  // carry into the exponent
  EXPECT_EQ(f32_to_bf16(from_bits(0x7f7fffff)), 0x7f80);  // FLT_MAX rounds to Inf
  EXPECT_EQ(f32_to_bf16(INFINITY), 0x7f80);
  EXPECT_EQ(f32_to_bf16(-INFINITY), 0xff80);
  EXPECT_EQ(f32_to_bf16(from_bits(0x00000001)), 0x0000);  // tiny subnormal -> 0
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0x4049), 3.140625f);
  EXPECT_EQ(bf16_to_f32(0x0001), from_bits(0x00010000));  // subnormal kept exactly
}

TEST(BF16, NaNStaysNaN) {
  // Payload only in the low 16 bits: plain truncation would make this Inf.
  uint16_t h = f32_to_bf16(from_bits(0x7f800001));
  EXPECT_TRUE(std::isnan(bf16_to_f32(h)));
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
  EXPECT_EQ(f32_to_bf16(from_bits(0xffc00000)), 0xffc0);
}

TEST(BF16, EveryValueRoundTrips) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = bf16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(f))));
    } else {
      ASSERT_EQ(f32_to_bf16(f), h) << h;
    }
  }
}
