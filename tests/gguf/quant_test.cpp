// Tensor types: the type table, and CPU (de)quantization checked bit-exactly against blocks
// built by hand (expected values worked out from the format, written here as numbers), plus
// error bounds for quantize -> dequantize on random data.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "gguf/types.h"
#include "util/error.h"

using namespace kiln::gguf;

namespace {

std::vector<float> dequant(Type type, const std::vector<uint8_t>& block, int64_t n) {
  std::vector<float> out(n, -999.0f);
  dequantize(type, block.data(), out.data(), n);
  return out;
}

std::vector<uint8_t> quant(Type type, const std::vector<float>& x) {
  std::vector<uint8_t> out(bytes_for(type, static_cast<int64_t>(x.size())), 0xee);
  quantize(type, x.data(), out.data(), static_cast<int64_t>(x.size()));
  return out;
}

std::vector<float> normal_data(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(n);
  for (float& v : x) v = dist(rng);
  return x;
}

float rounded_f16(float x) { return f16_to_f32(f32_to_f16(x)); }

}  // namespace

TEST(TypeTable, BlockGeometry) {
  EXPECT_EQ(type_info(Type::Q8_0).block_elems, 32);
  EXPECT_EQ(type_info(Type::Q8_0).block_bytes, 34);
  EXPECT_EQ(type_info(Type::Q4_0).block_bytes, 18);
  EXPECT_EQ(type_info(Type::MXFP4).block_bytes, 17);
  EXPECT_EQ(type_info(Type::Q4_K).block_elems, 256);
  EXPECT_EQ(type_info(Type::Q4_K).block_bytes, 144);
  EXPECT_EQ(type_info(Type::Q6_K).block_bytes, 210);
  EXPECT_EQ(type_info(Type::Q5_K).block_bytes, 176);
  EXPECT_EQ(type_info(Type::Q8_K).block_bytes, 292);
  EXPECT_EQ(type_info(Type::IQ4_XS).block_bytes, 136);
  EXPECT_EQ(type_info(Type::TQ1_0).block_bytes, 54);
  EXPECT_EQ(type_info(Type::BF16).block_bytes, 2);
  EXPECT_EQ(type_info(Type::F64).block_bytes, 8);
  EXPECT_EQ(type_name(Type::Q6_K), "Q6_K");
  EXPECT_EQ(type_info(39).name, "MXFP4");
  EXPECT_EQ(type_info(4).block_elems, 0);  // the removed Q4_2
  EXPECT_EQ(type_info(40).block_elems, 0);
  EXPECT_TRUE(type_info(Type::Q4_K).cpu_supported);
  EXPECT_FALSE(type_info(Type::Q5_K).cpu_supported);
}

TEST(TypeTable, BytesFor) {
  EXPECT_EQ(bytes_for(Type::F32, 10), 40u);
  EXPECT_EQ(bytes_for(Type::F16, 3), 6u);
  EXPECT_EQ(bytes_for(Type::Q8_0, 64), 68u);
  EXPECT_EQ(bytes_for(Type::Q4_K, 512), 288u);
  EXPECT_EQ(bytes_for(Type::MXFP4, 2880 * 32), 2880u * 17);
  try {
    bytes_for(Type::Q8_0, 33);
    FAIL() << "no error";
  } catch (const kiln::Error& e) {
    EXPECT_STREQ(e.what(), "33 elements of Q8_0 is not a multiple of its block size 32");
  }
}

TEST(Dequantize, RejectsUnsupportedTypeAndPartialBlocks) {
  float out[256];
  uint8_t in[256] = {};
  try {
    dequantize(Type::Q5_K, in, out, 256);
    FAIL() << "no error";
  } catch (const kiln::Error& e) {
    EXPECT_NE(std::string(e.what()).find("type Q5_K (id 13) has no CPU conversion"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(dequantize(Type::Q4_0, in, out, 31), kiln::Error);
  EXPECT_THROW(quantize(Type::Q6_K, out, in, 128), kiln::Error);
}

TEST(Dequantize, PlainTypes) {
  // F16 0x3c00 = 1, 0xc500 = -5; BF16 0x3f80 = 1, 0xc0a0 = -5 (little-endian bytes).
  EXPECT_EQ(dequant(Type::F16, {0x00, 0x3c, 0x00, 0xc5}, 2), (std::vector<float>{1.0f, -5.0f}));
  EXPECT_EQ(dequant(Type::BF16, {0x80, 0x3f, 0xa0, 0xc0}, 2), (std::vector<float>{1.0f, -5.0f}));
  EXPECT_EQ(dequant(Type::F32, {0x00, 0x00, 0xc0, 0x3f}, 1), (std::vector<float>{1.5f}));
  EXPECT_EQ(quant(Type::F16, {1.0f, -5.0f}), (std::vector<uint8_t>{0x00, 0x3c, 0x00, 0xc5}));
  EXPECT_EQ(quant(Type::BF16, {1.0f, -5.0f}), (std::vector<uint8_t>{0x80, 0x3f, 0xa0, 0xc0}));
}

TEST(Dequantize, Q8_0HandBlock) {
  // d = 0x3800 = 0.5; q[i] = i - 16 except q[1] = 127, q[2] = -128 (the unused code still decodes).
  std::vector<uint8_t> block = {0x00, 0x38};
  for (int i = 0; i < 32; ++i) block.push_back(static_cast<uint8_t>(i - 16));
  block[2 + 1] = 127;
  block[2 + 2] = 0x80;
  std::vector<float> expected = {-8.0f, 63.5f, -64.0f, -6.5f, -6.0f, -5.5f, -5.0f, -4.5f,
                                 -4.0f, -3.5f, -3.0f,  -2.5f, -2.0f, -1.5f, -1.0f, -0.5f,
                                 0.0f,  0.5f,  1.0f,   1.5f,  2.0f,  2.5f,  3.0f,  3.5f,
                                 4.0f,  4.5f,  5.0f,   5.5f,  6.0f,  6.5f,  7.0f,  7.5f};
  EXPECT_EQ(dequant(Type::Q8_0, block, 32), expected);
}

TEST(Quantize, Q8_0HandBlock) {
  // x[i] = (i - 16) / 4: amax 4, d = 4/127 (f16 0x2808), q = round(x * 31.75), halves away from
  // zero: x = -2 -> -63.5 -> -64, x = 2 -> 63.5 -> 64.
  std::vector<float> x;
  for (int i = 0; i < 32; ++i) x.push_back((i - 16) * 0.25f);
  std::vector<int8_t> q = {-127, -119, -111, -103, -95, -87, -79, -71, -64, -56, -48,
                           -40,  -32,  -24,  -16,  -8,  0,   8,   16,  24,  32,  40,
                           48,   56,   64,   71,   79,  87,  95,  103, 111, 119};
  std::vector<uint8_t> expected = {0x08, 0x28};
  for (int8_t v : q) expected.push_back(static_cast<uint8_t>(v));
  EXPECT_EQ(quant(Type::Q8_0, x), expected);
  // An all-zero block: d = 0 and all codes 0.
  EXPECT_EQ(quant(Type::Q8_0, std::vector<float>(32, 0.0f)), std::vector<uint8_t>(34, 0));
}

TEST(Dequantize, Q4_0HandBlock) {
  // d = 0x4000 = 2; byte j = (15 - j) << 4 | j: element j has code j, element j + 16 has 15 - j.
  std::vector<uint8_t> block = {0x00, 0x40};
  for (int j = 0; j < 16; ++j) block.push_back(static_cast<uint8_t>(j | ((15 - j) << 4)));
  std::vector<float> expected = {-16, -14, -12, -10, -8, -6, -4, -2, 0,  2,  4,  6,  8,  10,  12,  14,
                                 14,  12,  10,  8,   6,  4,  2,  0,  -2, -4, -6, -8, -10, -12, -14, -16};
  EXPECT_EQ(dequant(Type::Q4_0, block, 32), expected);
}

TEST(Quantize, Q4_0HandBlock) {
  // x[i] = i - 20: the largest magnitude is -20, so d = -20 / -8 = 2.5 (f16 0x4100) and
  // code = trunc(x / 2.5 + 8.5): x = -20 -> 0.5 -> 0, x = -18 -> 1.3 -> 1, x = 11 -> 12.9 -> 12.
  std::vector<float> x;
  for (int i = 0; i < 32; ++i) x.push_back(static_cast<float>(i - 20));
  std::vector<uint8_t> expected = {0x00, 0x41, 0x60, 0x70, 0x71, 0x81, 0x82, 0x82, 0x92, 0x93,
                                   0xa3, 0xa4, 0xa4, 0xb4, 0xb5, 0xc5, 0xc6, 0xc6};
  EXPECT_EQ(quant(Type::Q4_0, x), expected);
}

TEST(Dequantize, Mxfp4HandBlocks) {
  // Block 0: e = 128 -> scale 2^1; byte j = (15 - j) << 4 | j. FP4 codes 0..7 are +{0, .5, 1,
  // 1.5, 2, 3, 4, 6}, codes 8..15 the same negated.
  std::vector<uint8_t> block = {128};
  for (int j = 0; j < 16; ++j) block.push_back(static_cast<uint8_t>(j | ((15 - j) << 4)));
  // Block 1: e = 124 -> scale 2^-3; element 0 code 7 (6), element 16 code 9 (-0.5).
  block.push_back(124);
  block.push_back(0x97);
  block.insert(block.end(), 15, 0);
  // Block 2: e = 0 -> scale 2^-127: code 1 (0.5) gives the subnormal 2^-128.
  block.push_back(0);
  block.push_back(0x01);
  block.insert(block.end(), 15, 0);
  std::vector<float> out = dequant(Type::MXFP4, block, 96);
  std::vector<float> first = {0, 1, 2, 3, 4, 6, 8, 12, -0.0f, -1, -2, -3, -4, -6, -8, -12,
                              -12, -8, -6, -4, -3, -2, -1, -0.0f, 12, 8, 6, 4, 3, 2, 1, 0};
  EXPECT_EQ(std::vector<float>(out.begin(), out.begin() + 32), first);
  // Code 8 is FP4 -0; like ggml (an integer table) it decodes to +0, which compares equal.
  EXPECT_FALSE(std::signbit(out[8]));
  EXPECT_EQ(out[32], 0.75f);
  EXPECT_EQ(out[48], -0.0625f);
  EXPECT_EQ(out[33], 0.0f);
  EXPECT_EQ(out[64], 0x1p-128f);
  EXPECT_EQ(out[65], 0.0f);
}

TEST(Quantize, Mxfp4HandBlock) {
  // amax = 5: e = floor(log2 5) - 2 + 127 = 127, so representable values are the FP4 set itself.
  // 5 is halfway between 4 (code 6) and 6 (code 7): the lower code wins the tie. -5 -> code 14
  // (-4). -2.6 -> -3 (code 13). 0.2 -> 0. 0.25 ties 0 and 0.5 -> 0. -0.1 ties +0 and -0 -> +0.
  // 1.2 -> 1 (code 2). 3.5 ties 3 (code 5) and 4 -> code 5.
  std::vector<float> x(32, 0.0f);
  x[0] = 5.0f;
  x[1] = -2.6f;
  x[2] = 0.2f;
  x[3] = 0.25f;
  x[4] = -0.1f;
  x[5] = -5.0f;
  x[16] = 1.2f;
  x[17] = 3.5f;
  std::vector<uint8_t> expected(17, 0);
  expected[0] = 127;
  expected[1 + 0] = 0x26;
  expected[1 + 1] = 0x5d;
  expected[1 + 5] = 0x0e;
  std::vector<uint8_t> got = quant(Type::MXFP4, x);
  EXPECT_EQ(got, expected);
  std::vector<float> back = dequant(Type::MXFP4, got, 32);
  EXPECT_EQ(back[0], 4.0f);
  EXPECT_EQ(back[1], -3.0f);
  EXPECT_EQ(back[5], -4.0f);
  EXPECT_EQ(back[16], 1.0f);
  EXPECT_EQ(back[17], 3.0f);
}

TEST(Dequantize, Q4_KHandBlock) {
  // d = 1 (0x3c00), dmin = 0.5 (0x3800). Sub-block scales {1, 2, 3, 4, 33, 40, 50, 63} and mins
  // {0, 1, 2, 3, 17, 20, 45, 63}, packed by hand:
  //   bytes 0..3: scale 0..3 | top two bits of scale 4..7 (2, 2, 3, 3) << 6
  //   bytes 4..7: min 0..3   | top two bits of min 4..7   (1, 1, 2, 3) << 6
  //   bytes 8..11: low nibble of scale 4..7 (1, 8, 2, 15) | low nibble of min 4..7 (1, 4, 13, 15) << 4
  std::vector<uint8_t> block = {0x00, 0x3c, 0x00, 0x38, 0x81, 0x82, 0xc3, 0xc4, 0x40, 0x41,
                                0x82, 0xc3, 0x11, 0x48, 0xd2, 0xff};
  // Codes: qs[k] low nibble = k % 16, high nibble = 15 - k % 16.
  for (int k = 0; k < 128; ++k) block.push_back(static_cast<uint8_t>((k % 16) | ((15 - k % 16) << 4)));
  ASSERT_EQ(block.size(), 144u);
  std::vector<float> out = dequant(Type::Q4_K, block, 256);
  const float scale[8] = {1, 2, 3, 4, 33, 40, 50, 63};
  const float min[8] = {0, 1, 2, 3, 17, 20, 45, 63};
  for (int v = 0; v < 256; ++v) {
    int s = v / 32, i = v % 32;
    // Sub-blocks 2g and 2g+1 share bytes 32g..32g+31: even ones the low nibble, odd the high.
    int code = s % 2 == 0 ? i % 16 : 15 - i % 16;
    ASSERT_EQ(out[v], scale[s] * code - 0.5f * min[s]) << "value " << v;
  }
  // Spot checks worked out in full: value = scale * code - 0.5 * min.
  EXPECT_EQ(out[0], 0.0f);      // s0, code 0
  EXPECT_EQ(out[33], 27.5f);    // s1, high nibble of qs[1] = 14: 2*14 - 0.5
  EXPECT_EQ(out[133], 156.5f);  // s4, low nibble of qs[69] = 5: 33*5 - 8.5
  EXPECT_EQ(out[180], 430.0f);  // s5, high nibble of qs[84] = 11: 40*11 - 10
  EXPECT_EQ(out[200], 377.5f);  // s6, low nibble of qs[104] = 8: 50*8 - 22.5
  EXPECT_EQ(out[255], -31.5f);  // s7, high nibble of qs[127] = 0: -31.5
}

TEST(Dequantize, Q6_KHandBlock) {
  // ql bytes all 0x21 (low nibble 1, high nibble 2); qh bytes all 0xe4 (2-bit fields 0,1,2,3 from
  // the bottom). Inside each 128-value half, value 32k + i gets code:
  //   k=0: 1 | 0<<4 = 1 -> -31;  k=1: 1 | 1<<4 = 17 -> -15;  k=2: 2 | 2<<4 = 34 -> 2;
  //   k=3: 2 | 3<<4 = 50 -> 18.
  std::vector<uint8_t> block(210);
  for (int k = 0; k < 128; ++k) block[k] = 0x21;
  for (int k = 0; k < 64; ++k) block[128 + k] = 0xe4;
  const int8_t scales[16] = {1, -1, 2, -2, 3, 4, 5, 6, 7, 8, 9, 10, -128, 127, 11, 12};
  std::memcpy(&block[192], scales, 16);
  block[208] = 0x00;  // d = 0x3400 = 0.25
  block[209] = 0x34;
  // Overrides, each changing specific values:
  block[5] = 0x9f;         // half 0, i=5: k=0 code 15 -> -17 (v=5); k=2 code 9 | 2<<4 = 41 -> 9 (v=69)
  block[128 + 7] = 0x1b;   // half 0, i=7: fields 3,2,1,0: v=7: 1|3<<4=49 -> 17; v=39: 1|2<<4=33 -> 1;
                           //   v=71: 2|1<<4=18 -> -14; v=103: 2 -> -30
  block[64 + 40] = 0x0c;   // half 1, ql[i + 32] for i=8: k=1 low nibble 12, k=3 high nibble 0
  block[128 + 32 + 8] = 0; // half 1, i=8: all high bits 0 -> v=136: 1 -> -31; v=168: 12 -> -20;
                           //   v=200: 2 -> -30; v=232: 0 -> -32
  std::vector<float> expected_q(256);
  const int base[4] = {-31, -15, 2, 18};
  for (int v = 0; v < 256; ++v) expected_q[v] = static_cast<float>(base[(v % 128) / 32]);
  expected_q[5] = -17;
  expected_q[69] = 9;
  expected_q[7] = 17;
  expected_q[39] = 1;
  expected_q[71] = -14;
  expected_q[103] = -30;
  expected_q[136] = -31;
  expected_q[168] = -20;
  expected_q[200] = -30;
  expected_q[232] = -32;
  std::vector<float> out = dequant(Type::Q6_K, block, 256);
  for (int v = 0; v < 256; ++v) {
    ASSERT_EQ(out[v], 0.25f * scales[v / 16] * expected_q[v]) << "value " << v;
  }
  EXPECT_EQ(out[5], -4.25f);     // scale[0] = 1: 0.25 * 1 * -17
  EXPECT_EQ(out[39], 0.5f);      // scale[2] = 2: 0.25 * 2 * 1
  EXPECT_EQ(out[200], 960.0f);   // scale[12] = -128: 0.25 * -128 * -30
  EXPECT_EQ(out[232], -88.0f);   // scale[14] = 11: 0.25 * 11 * -32
}

// Bounds, per element, from the arithmetic of each format (d16 = d after rounding to f16):
//   Q8_0:  |x - q*d16| <= d/2 + 127*|d - d16|, d = amax/127.
//   Q4_0:  <= |d| + 8*|d - d16|: codes are d-steps, except that the value opposite the extreme
//          would need code 16 and is clipped to 15 (one full step).
//   MXFP4: <= 2^(floor(log2 amax) - 1): the top FP4 step (4 -> 6, in units of 2^(e-127)) is 2,
//          and values above 6 units (up to amax < 8 units) clip to 6.
TEST(Quantize, ErrorBoundsQ8_0Q4_0Mxfp4) {
  const int64_t n = 32 * 512;
  std::vector<float> x = normal_data(n, 1);
  for (int64_t i = 0; i < n; i += 97) x[i] *= 30.0f;  // some outliers
  for (Type type : {Type::Q8_0, Type::Q4_0, Type::MXFP4}) {
    std::vector<float> back(n);
    std::vector<uint8_t> q = quant(type, x);
    dequantize(type, q.data(), back.data(), n);
    for (int64_t b = 0; b < n; b += 32) {
      float amax = 0.0f, extreme = 0.0f;
      for (int i = 0; i < 32; ++i) {
        if (std::fabs(x[b + i]) > amax) {
          amax = std::fabs(x[b + i]);
          extreme = x[b + i];
        }
      }
      float bound;
      if (type == Type::Q8_0) {
        float d = amax / 127;
        bound = d / 2 + 127 * std::fabs(d - rounded_f16(d));
      } else if (type == Type::Q4_0) {
        float d = extreme / -8;
        bound = std::fabs(d) + 8 * std::fabs(d - rounded_f16(d));
      } else {
        bound = std::ldexp(1.0f, static_cast<int>(std::floor(std::log2(amax))) - 1);
      }
      bound *= 1.0001f;  // float rounding of the products
      for (int i = 0; i < 32; ++i) {
        ASSERT_LE(std::fabs(back[b + i] - x[b + i]), bound)
            << type_name(type) << " block " << b / 32 << " element " << i;
      }
    }
  }
}

// K-quants pick scales by search, so the bound is statistical: on N(0, 1) data the RMS error
// of an ideal uniform quantizer with step s is s/sqrt(12). Q4_K: 32-value sub-blocks span ~4.1
// sigma over 15 steps -> ~0.079; Q6_K: 16 values span ~3.5 sigma, signed 64 levels -> ~0.016.
// The limits leave ~25% for the 6/8-bit scale rounding; a wrong layout or scale is far off.
TEST(Quantize, ErrorBoundsKQuants) {
  const int64_t n = 256 * 256;
  std::vector<float> x = normal_data(n, 2);
  struct Case {
    Type type;
    double max_rms;
    float max_abs;
  };
  for (Case c : {Case{Type::Q4_K, 0.10, 0.45f}, Case{Type::Q6_K, 0.020, 0.12f}}) {
    std::vector<uint8_t> q = quant(c.type, x);
    std::vector<float> back(n);
    dequantize(c.type, q.data(), back.data(), n);
    double sum_sq = 0;
    float worst = 0;
    for (int64_t i = 0; i < n; ++i) {
      float err = std::fabs(back[i] - x[i]);
      sum_sq += double(err) * err;
      worst = std::fmax(worst, err);
    }
    double rms = std::sqrt(sum_sq / n);
    EXPECT_LT(rms, c.max_rms) << type_name(c.type);
    EXPECT_LT(worst, c.max_abs) << type_name(c.type);
    RecordProperty(std::string(type_name(c.type)) + "_rms", std::to_string(rms));
    std::printf("%s: rms error %.4f, max error %.4f (data sigma 1)\n",
                std::string(type_name(c.type)).c_str(), rms, worst);
  }
}

// Blocks whose values are exactly representable come back exactly: zero blocks, constant
// blocks for K-quants (scale 0, the offset carries the value), and on-grid Q8_0 data.
TEST(Quantize, RepresentableDataIsExact) {
  for (Type type : {Type::Q8_0, Type::Q4_0, Type::MXFP4, Type::Q4_K, Type::Q6_K}) {
    std::vector<float> zeros(256, 0.0f);
    std::vector<float> back(256);
    std::vector<uint8_t> q = quant(type, zeros);
    dequantize(type, q.data(), back.data(), 256);
    EXPECT_EQ(back, zeros) << type_name(type);
  }
  // Q8_0 on a grid with d = 0.5 and a value at 127 * d: the scale is recovered exactly.
  std::vector<float> grid(32);
  for (int i = 0; i < 32; ++i) grid[i] = 0.5f * static_cast<float>(127 - 8 * i);
  std::vector<float> back(32);
  std::vector<uint8_t> q = quant(Type::Q8_0, grid);
  dequantize(Type::Q8_0, q.data(), back.data(), 32);
  EXPECT_EQ(back, grid);
  // Q4_K: a sub-block holding only 0 and 1 needs scale 1, min 0.
  std::vector<float> bits(256);
  for (int i = 0; i < 256; ++i) bits[i] = static_cast<float>((i * 7) % 3 == 0);
  std::vector<float> back_k(256);
  std::vector<uint8_t> qk = quant(Type::Q4_K, bits);
  dequantize(Type::Q4_K, qk.data(), back_k.data(), 256);
  for (int i = 0; i < 256; ++i) EXPECT_NEAR(back_k[i], bits[i], 1e-3) << i;
}
