// The reference ops against values computed by hand (the arithmetic is in each comment).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/moe.h"
#include "cpu/ops.h"
#include "util/error.h"

namespace kiln::cpu {
namespace {

using model::RopeKind;

TEST(RmsNorm, ScalesByRootMeanSquareThenWeight) {
  // mean(x^2) = (1 + 4 + 9 + 16) / 4 = 7.5; + eps 0.5 = 8; 1/sqrt(8) = 0.3535534.
  std::vector<float> x = {1, 2, 3, 4}, w = {1, 1, 2, 0.5f}, out(4);
  rmsnorm(x, w, 0.5f, out);
  EXPECT_NEAR(out[0], 0.3535534f, 1e-6);
  EXPECT_NEAR(out[1], 0.7071068f, 1e-6);
  EXPECT_NEAR(out[2], 2.1213203f, 1e-6);
  EXPECT_NEAR(out[3], 0.7071068f, 1e-6);
  rmsnorm(x, {}, 0.5f, x);  // no weight, in place
  EXPECT_NEAR(x[3], 1.4142136f, 1e-6);
}

TEST(RmsNorm, RejectsMismatchedSizes) {
  std::vector<float> x(4), w(3), out(4);
  EXPECT_THROW(rmsnorm(x, w, 1e-6f, out), Error);
}

// head = (1, 0, 0, 1), rope_dim 4, base 10000: pair 0 turns by pos rad, pair 1 by pos * 0.01.
TEST(Rope, NormalRotatesAdjacentPairs) {
  RopeParams p;
  p.kind = RopeKind::normal;
  p.rope_dim = 4;
  std::vector<float> head = {1, 0, 0, 1};
  apply_rope(head, rope_angles(1, p), p.kind);
  // (x0, x1) = (1, 0) -> (cos 1, sin 1); (x2, x3) = (0, 1) -> (-sin 0.01, cos 0.01).
  EXPECT_NEAR(head[0], 0.5403023f, 1e-6);
  EXPECT_NEAR(head[1], 0.8414710f, 1e-6);
  EXPECT_NEAR(head[2], -0.0099998f, 1e-6);
  EXPECT_NEAR(head[3], 0.9999500f, 1e-6);
}

TEST(Rope, NeoxRotatesHalves) {
  RopeParams p;
  p.kind = RopeKind::neox;
  p.rope_dim = 4;
  std::vector<float> head = {1, 0, 0, 1};
  apply_rope(head, rope_angles(1, p), p.kind);
  // (x0, x2) = (1, 0) -> (cos 1, sin 1); (x1, x3) = (0, 1) -> (-sin 0.01, cos 0.01).
  EXPECT_NEAR(head[0], 0.5403023f, 1e-6);
  EXPECT_NEAR(head[1], -0.0099998f, 1e-6);
  EXPECT_NEAR(head[2], 0.8414710f, 1e-6);
  EXPECT_NEAR(head[3], 0.9999500f, 1e-6);
}

TEST(Rope, PositionZeroIsIdentityAndExtraDimsPass) {
  RopeParams p;
  p.rope_dim = 2;
  std::vector<float> head = {3, 4, 5, 6};
  apply_rope(head, rope_angles(0, p), RopeKind::neox);
  EXPECT_EQ(head, (std::vector<float>{3, 4, 5, 6}));
  apply_rope(head, rope_angles(1, p), RopeKind::neox);  // only (x0, x1) turns, by 1 rad
  EXPECT_NEAR(head[0], 3 * 0.5403023f - 4 * 0.8414710f, 1e-5);
  EXPECT_EQ(head[2], 5);
  EXPECT_EQ(head[3], 6);
}

TEST(Rope, LinearScalingDividesThePosition) {
  RopeParams p;
  p.rope_dim = 4;
  p.freq_scale = 0.5f;  // position 2 at scale 1/2 turns like position 1
  auto a = rope_angles(2, p);
  EXPECT_NEAR(a.cos[0], 0.5403023f, 1e-6);
  EXPECT_NEAR(a.sin[1], 0.0099998f, 1e-6);
}

TEST(Rope, Llama3FrequencyFactorsDivideTheta) {
  RopeParams p;
  p.kind = RopeKind::normal;
  p.rope_dim = 4;
  std::vector<float> factors = {1, 4};
  p.freq_factors = factors;
  // pos 4: pair 0 theta = 4 / 1 = 4; pair 1 theta = 4 * 0.01 / 4 = 0.01.
  auto a = rope_angles(4, p);
  EXPECT_NEAR(a.cos[0], -0.6536436f, 1e-6);
  EXPECT_NEAR(a.sin[0], -0.7568025f, 1e-6);
  EXPECT_NEAR(a.cos[1], 0.9999500f, 1e-6);
  EXPECT_NEAR(a.sin[1], 0.0099998f, 1e-6);
}

TEST(Rope, YarnCorrectionDimsForGptOss) {
  // corr_dim(r) = 64 ln(4096 / (2 pi r)) / (2 ln 150000): r = 32 -> 8.09 (floor 8),
  // r = 1 -> 17.40 (ceil 18).
  float dims[2];
  yarn_corr_dims(64, 4096, 150000.f, 32.f, 1.f, dims);
  EXPECT_EQ(dims[0], 8.f);
  EXPECT_EQ(dims[1], 18.f);
}

TEST(Rope, YarnRampsBetweenExtrapolationAndInterpolation) {
  // gpt-oss numbers: rope_dim 64, base 150000, factor 32, orig ctx 4096, betas 32 / 1; ramp range
  // [8, 18]; mscale = 1 + 0.1 ln 32 = 1.3465736 on cos and sin. At position 100, pair i has
  // theta_e = 100 * 150000^(-i/32):
  //   i <= 8: theta = theta_e; i = 13: ramp 0.5, theta = theta_e (0.5 + 0.5/32);
  //   i >= 18: theta = theta_e / 32.
  RopeParams p;
  p.rope_dim = 64;
  p.base = 150000.f;
  p.freq_scale = 1.f / 32;
  p.ext_factor = 1.f;
  p.orig_ctx = 4096;
  auto a = rope_angles(100, p);
  struct Expect { int pair; float cos, sin; };
  for (auto e : {Expect{0, 1.1611758f, -0.6818586f}, Expect{8, 0.4856089f, -1.2559636f},
                 Expect{13, 1.2365991f, 0.5329944f}, Expect{18, 1.3465637f, 0.0051586f},
                 Expect{31, 1.3465736f, 0.0000407f}}) {
    EXPECT_NEAR(a.cos[size_t(e.pair)], e.cos, 2e-6) << "pair " << e.pair;
    EXPECT_NEAR(a.sin[size_t(e.pair)], e.sin, 2e-6) << "pair " << e.pair;
  }
}

TEST(Softmax, PlainAndWithSink) {
  std::vector<float> x = {1, 2};
  softmax(x);  // e / (e + e^2), e^2 / (e + e^2)
  EXPECT_NEAR(x[0], 0.2689414f, 1e-6);
  EXPECT_NEAR(x[1], 0.7310586f, 1e-6);
  std::vector<float> y = {1, 2};
  softmax_with_sink(y, 0.f);  // denominators e + e^2 + e^0 = 11.107338
  EXPECT_NEAR(y[0], 0.2447284f, 1e-6);
  EXPECT_NEAR(y[1], 0.6652410f, 1e-6);
  std::vector<float> big = {1000, 1000};  // stable: subtracts the max
  softmax_with_sink(big, 1000.f);
  EXPECT_NEAR(big[0], 1.f / 3, 1e-6);
}

TEST(AttentionMask, CausalAndSlidingWindow) {
  EXPECT_FALSE(attention_masked(5, 5, 0));
  EXPECT_TRUE(attention_masked(5, 6, 0));
  EXPECT_FALSE(attention_masked(5, 0, 0));
  // window 3 keeps the last 3 positions including the query's own: keys 3, 4, 5 for query 5.
  EXPECT_FALSE(attention_masked(5, 3, 3));
  EXPECT_TRUE(attention_masked(5, 2, 3));
  EXPECT_TRUE(attention_masked(5, 6, 3));
  EXPECT_FALSE(attention_masked(5, 5, 1));
  EXPECT_TRUE(attention_masked(5, 4, 1));
}

// One kv head, head_dim 2: keys (1, 0) and (0, 1), values (1, 2) and (3, 4), q = (1, 0).
struct TinyAttention : ::testing::Test {
  std::vector<float> k = {1, 0, 0, 1}, v = {1, 2, 3, 4};
  AttnShape shape() const {
    AttnShape s;
    s.n_heads = 2;  // GQA: both query heads read the one kv head
    s.n_kv_heads = 1;
    s.head_dim = 2;
    s.head_dim_v = 2;
    return s;
  }
};

TEST_F(TinyAttention, WeightsValuesBySoftmaxOfScores) {
  // Scores (1, 0) -> p = (0.7310586, 0.2689414); out = p0 (1, 2) + p1 (3, 4).
  // Head 1 has q = (0, 2) scaled by 0.5: scores (0, 1) -> p reversed.
  std::vector<float> out(4);
  auto s = shape();
  std::vector<float> q_scaled = {2, 0, 0, 2};
  s.scale = 0.5f;
  attention(q_scaled, k, v, 1, 2, s, {}, out);
  EXPECT_NEAR(out[0], 1.5378828f, 1e-6);
  EXPECT_NEAR(out[1], 2.5378828f, 1e-6);
  EXPECT_NEAR(out[2], 2.4621172f, 1e-6);
  EXPECT_NEAR(out[3], 3.4621172f, 1e-6);
}

TEST_F(TinyAttention, CausalMaskHidesLaterKeys) {
  std::vector<float> q = {1, 0, 1, 0}, out(4);
  attention(q, k, v, 0, 2, shape(), {}, out);  // query at 0 sees only key 0
  EXPECT_NEAR(out[0], 1.f, 1e-6);
  EXPECT_NEAR(out[1], 2.f, 1e-6);
}

TEST_F(TinyAttention, WindowOfOneSeesOnlyItself) {
  auto s = shape();
  s.window = 1;
  std::vector<float> q = {1, 0, 1, 0}, out(4);
  attention(q, k, v, 1, 2, s, {}, out);
  EXPECT_NEAR(out[0], 3.f, 1e-6);
  EXPECT_NEAR(out[1], 4.f, 1e-6);
}

TEST_F(TinyAttention, SinkTakesProbabilityMass) {
  // Scores (1, 0), sink 0 (head 0) and a very negative sink (head 1):
  // p = (e, 1) / (e + 1 + 1) = (0.5761169, 0.2119416); out = (1.2119416, 2.0).
  std::vector<float> q = {1, 0, 1, 0}, out(4), sinks = {0.f, -100.f};
  attention(q, k, v, 1, 2, shape(), sinks, out);
  EXPECT_NEAR(out[0], 1.2119416f, 1e-6);
  EXPECT_NEAR(out[1], 2.0f, 1e-6);
  EXPECT_NEAR(out[2], 1.5378828f, 1e-6);  // the sink of -100 changes nothing
}

TEST(Activations, HandValues) {
  EXPECT_NEAR(silu(1.f), 0.7310586f, 1e-6);     // 1 * sigmoid(1)
  EXPECT_NEAR(silu(-2.f), -0.2384058f, 1e-6);   // -2 / (1 + e^2)
  EXPECT_NEAR(gelu_tanh(1.f), 0.8411920f, 1e-6);
  EXPECT_NEAR(gelu_tanh(-1.f), -0.1588080f, 1e-6);
  EXPECT_NEAR(gelu_tanh(3.f), 2.9963626f, 1e-6);
  // swiglu_oai(1, 0.5) = 1 * sigmoid(1.702) * 1.5.
  EXPECT_NEAR(swiglu_oai(1.f, 0.5f), 1.2686936f, 1e-6);
  // gate clamps to 7, up to 7: 7 * sigmoid(11.914) * 8.
  EXPECT_NEAR(swiglu_oai(10.f, 9.f), 55.999625f, 1e-4);
  // the gate is not clamped from below; up clamps to -7: -10 * sigmoid(-17.02) * (-6).
  EXPECT_NEAR(swiglu_oai(-10.f, -9.f), 2.4347768e-06f, 1e-10);

  std::vector<float> gate = {1, 1}, up = {2, 0.5f};
  gated_activation(model::FfnActivation::silu_gated, gate, up);
  EXPECT_NEAR(gate[0], 2 * 0.7310586f, 1e-6);
  gate = {1, 1};
  gated_activation(model::FfnActivation::gelu_tanh_gated, gate, up);
  EXPECT_NEAR(gate[1], 0.5f * 0.8411920f, 1e-6);
  gate = {1, 1};
  gated_activation(model::FfnActivation::swiglu_oai, gate, up);
  EXPECT_NEAR(gate[1], 1.2686936f, 1e-6);
}

TEST(MoeRouting, SoftmaxThenTopKRenormalized) {
  // softmax over (1, 3, 2, 0), keep experts 1 and 2, renormalize: e^3 / (e^3 + e^2) = 0.7310586.
  std::vector<float> logits = {1, 3, 2, 0};
  auto c = route(logits, 2, model::MoeRouting::softmax_topk);
  ASSERT_EQ(c.experts, (std::vector<int>{1, 2}));
  EXPECT_NEAR(c.weights[0], 0.7310586f, 1e-6);
  EXPECT_NEAR(c.weights[1], 0.2689414f, 1e-6);
  // k = 3: (e^3, e^2, e) / (e^3 + e^2 + e) = 0.6652410, 0.2447284, 0.0900306.
  c = route(logits, 3, model::MoeRouting::softmax_topk);
  ASSERT_EQ(c.experts, (std::vector<int>{1, 2, 0}));
  EXPECT_NEAR(c.weights[2], 0.0900306f, 1e-6);
}

TEST(MoeRouting, TopKThenSoftmaxOverTheK) {
  // gpt-oss: top-2 of (0.5, -1, 4, 4.5) = experts 3, 2; softmax(4.5, 4) = 0.6224593, 0.3775407.
  std::vector<float> logits = {0.5f, -1, 4, 4.5f};
  auto c = route(logits, 2, model::MoeRouting::topk_softmax);
  ASSERT_EQ(c.experts, (std::vector<int>{3, 2}));
  EXPECT_NEAR(c.weights[0], 0.6224593f, 1e-6);
  EXPECT_NEAR(c.weights[1], 0.3775407f, 1e-6);
  // Ties go to the lower index.
  std::vector<float> tied = {1, 2, 2, 0};
  EXPECT_EQ(route(tied, 1, model::MoeRouting::topk_softmax).experts, (std::vector<int>{1}));
  EXPECT_THROW(route(tied, 5, model::MoeRouting::topk_softmax), Error);
}

gguf::Tensor make_tensor(const char* name, gguf::Type type, std::vector<int64_t> shape,
                         const std::vector<uint8_t>& bytes) {
  gguf::Tensor t;
  t.name = name;
  t.type = type;
  t.shape = std::move(shape);
  t.bytes = bytes.size();
  t.data = bytes.data();
  return t;
}

TEST(Matmul, F32RowsTimesTokens) {
  // W rows (1, 2, 3), (4, 5, 6); tokens (1, 0, -1), (2, 1, 0) -> (-2, -2), (4, 13).
  std::vector<float> w = {1, 2, 3, 4, 5, 6};
  std::vector<uint8_t> bytes(w.size() * 4);
  std::memcpy(bytes.data(), w.data(), bytes.size());
  auto t = make_tensor("w", gguf::Type::F32, {3, 2}, bytes);
  std::vector<float> x = {1, 0, -1, 2, 1, 0}, y(4);
  matmul(t, 0, 2, x, 2, y, 2);
  EXPECT_EQ(y, (std::vector<float>{-2, -2, 4, 13}));
  std::vector<float> y1(2);
  matmul(t, 1, 1, x, 2, y1, 1);  // the second row alone (an "expert" slice)
  EXPECT_EQ(y1, (std::vector<float>{-2, 13}));
  EXPECT_THROW(matmul(t, 1, 2, x, 2, y, 1), Error);
}

TEST(Matmul, Q8_0RowsDequantizeExactly) {
  // Values k/2 with |k| <= 127 and a block max of 63.5: the Q8_0 scale is exactly 0.5, so the
  // dequantized weights equal the originals and the dot products are exact.
  const int n = 64;
  std::vector<float> w(size_t(2 * n));
  for (int i = 0; i < 2 * n; ++i) w[size_t(i)] = float((i * 37) % 255 - 127) / 2;
  w[0] = 63.5f;
  w[32] = -63.5f;
  w[64] = 63.5f;
  w[96] = 63.5f;
  std::vector<uint8_t> bytes(gguf::bytes_for(gguf::Type::Q8_0, 2 * n));
  gguf::quantize(gguf::Type::Q8_0, w.data(), bytes.data(), 2 * n);
  auto t = make_tensor("wq", gguf::Type::Q8_0, {n, 2}, bytes);
  std::vector<float> x(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) x[size_t(i)] = float(i % 5) - 2;
  std::vector<float> y(2);
  matmul(t, 0, 2, x, 1, y, 2);
  for (int r = 0; r < 2; ++r) {
    double expect = 0;
    for (int i = 0; i < n; ++i) expect += double(w[size_t(r * n + i)]) * x[size_t(i)];
    EXPECT_EQ(y[size_t(r)], float(expect)) << "row " << r;
  }
}

}  // namespace
}  // namespace kiln::cpu
