// rope.cuh on the GPU vs a double-precision CPU reference, both modes, over a shape sweep.
#include <random>

#include "jit/builtin_kernels.h"
#include "jit_gpu_util.h"
#include "kernels/rope_params.h"

namespace kiln::jit {
namespace {

using namespace testing;

struct Case {
  int head_dim, n_rot;
  double base;
  bool neox, f16;
  int n_tokens, n_heads, n_kv_heads;
  bool freq_factors;
  float freq_scale;
};

// Tolerance for one rotated element, whose inputs are (x0, x1) and angle theta = position *
// 2^-e (e = 2i/n_rot * log2(base), the frequency's exponent): the kernel gets 2^-e from log2f
// and exp2f in float, so its relative error is about 2.4e-7 (exp2f, 2 ulp) plus ln 2 * e *
// 1.8e-7 (the exponent's roundings); the position, scale and factor products add ~2e-7.
// sincosf is within 2 ulp, the rotation rounds twice: 1e-6 relative. f16 results add half an
// ulp (2^-11 relative).
double tolerance(double x0, double x1, double theta, double e, double ref, bool f16) {
  const double angle_error = std::abs(theta) * (5e-7 + 1.3e-7 * e);
  return (std::abs(x0) + std::abs(x1)) * (angle_error + 1e-6) + (f16 ? std::abs(ref) / 2048 + 6e-8 : 0.0);
}

void run_case(Mode mode, const Case& c, std::mt19937& rng) {
  const KernelKey key = rope_key({.head_dim = c.head_dim, .n_rot = c.n_rot, .freq_base = c.base, .neox = c.neox, .f16 = c.f16});
  SCOPED_TRACE(::testing::Message() << mode_label(mode) << " " << key.str() << " tokens=" << c.n_tokens << " heads="
                                    << c.n_heads << "/" << c.n_kv_heads << " factors=" << c.freq_factors
                                    << " scale=" << c.freq_scale);
  // Rows are padded by 2 elements per token: the padding must stay untouched.
  const long long q_stride = static_cast<long long>(c.n_heads) * c.head_dim + 2;
  const long long k_stride = static_cast<long long>(c.n_kv_heads) * c.head_dim + 2;
  const size_t nq = q_stride * c.n_tokens, nk = k_stride * c.n_tokens;
  std::uniform_real_distribution<float> value(-3.0f, 3.0f), factor(1.0f, 8.0f);
  std::uniform_int_distribution<int> position(0, 4096);
  std::vector<float> q(nq), k(nk), factors(c.n_rot / 2);
  for (auto& v : q) v = value(rng);
  for (auto& v : k) v = value(rng);
  for (auto& v : factors) v = factor(rng);
  std::vector<int> positions(c.n_tokens);
  for (auto& v : positions) v = position(rng);
  positions[0] = 0;  // the identity rotation
  if (c.f16) {  // the reference starts from the values the kernel sees
    for (auto& v : q) v = f16_to_f32(f32_to_f16(v));
    for (auto& v : k) v = f16_to_f32(f32_to_f16(v));
  }
  const size_t element = c.f16 ? 2 : 4;
  DeviceBytes dq(nq * element), dk(nk * element), dpos(c.n_tokens * 4), dfactors(factors.size() * 4);
  if (c.f16) {
    std::vector<uint16_t> hq(nq), hk(nk);
    for (size_t i = 0; i < nq; ++i) hq[i] = f32_to_f16(q[i]);
    for (size_t i = 0; i < nk; ++i) hk[i] = f32_to_f16(k[i]);
    dq.upload(hq);
    dk.upload(hk);
  } else {
    dq.upload(q);
    dk.upload(k);
  }
  dpos.upload(positions);
  dfactors.upload(factors);

  const Kernel& kernel = library_for(mode).get(key);
  RopeParams p{};
  p.q = dq.get();
  p.k = dk.get();
  p.positions = dpos.get<int>();
  p.freq_factors = c.freq_factors ? dfactors.get<float>() : nullptr;
  p.q_token_stride = q_stride;
  p.k_token_stride = k_stride;
  p.n_tokens = c.n_tokens;
  p.n_heads = c.n_heads;
  p.n_kv_heads = c.n_kv_heads;
  p.freq_scale = c.freq_scale;
  p.head_dim = c.head_dim;
  p.n_rot = c.n_rot;
  p.freq_base = static_cast<float>(c.base);
  kernel.launch(rope_launch(key, c.n_tokens, c.n_heads, c.n_kv_heads, c.n_rot), nullptr, p);
  sync_and_check(kernel.name());

  auto fetch = [&](const DeviceBytes& d, size_t n) {
    if (!c.f16) return d.download<float>(n);
    std::vector<float> out(n);
    const auto bits = d.download<uint16_t>(n);
    for (size_t i = 0; i < n; ++i) out[i] = f16_to_f32(bits[i]);
    return out;
  };
  const std::vector<float> q_out = fetch(dq, nq), k_out = fetch(dk, nk);

  int bad = 0;
  auto check = [&](const std::vector<float>& in, const std::vector<float>& out, long long stride, int heads,
                   const char* which) {
    for (int t = 0; t < c.n_tokens; ++t) {
      for (int h = 0; h < heads; ++h) {
        const size_t row = t * stride + static_cast<size_t>(h) * c.head_dim;
        std::vector<double> expected(in.begin() + row, in.begin() + row + c.head_dim);
        std::vector<double> theta_of(c.head_dim, 0.0), exponent_of(c.head_dim, 0.0);
        for (int i = 0; i < c.n_rot / 2; ++i) {
          double theta = positions[t] * static_cast<double>(c.freq_scale) * std::pow(c.base, -2.0 * i / c.n_rot);
          if (c.freq_factors) theta /= factors[i];
          const int a = c.neox ? i : 2 * i, b = c.neox ? i + c.n_rot / 2 : 2 * i + 1;
          const double x0 = in[row + a], x1 = in[row + b];
          expected[a] = x0 * std::cos(theta) - x1 * std::sin(theta);
          expected[b] = x0 * std::sin(theta) + x1 * std::cos(theta);
          theta_of[a] = theta_of[b] = theta;
          exponent_of[a] = exponent_of[b] = 2.0 * i / c.n_rot * std::log2(c.base);
        }
        for (int d = 0; d < c.head_dim; ++d) {
          const bool rotated = d < c.n_rot;
          int partner = d;
          if (rotated) partner = c.neox ? (d < c.n_rot / 2 ? d + c.n_rot / 2 : d - c.n_rot / 2) : (d ^ 1);
          const double tol = rotated ? tolerance(in[row + d], in[row + partner], theta_of[d], exponent_of[d], expected[d], c.f16) : 0.0;
          if (!(std::abs(out[row + d] - expected[d]) <= tol) && bad++ < 5)
            ADD_FAILURE() << which << " token " << t << " (pos " << positions[t] << ") head " << h << " [" << d
                          << "]: got " << out[row + d] << ", expected " << expected[d];
        }
      }
      for (long long pad = static_cast<long long>(heads) * c.head_dim; pad < stride; ++pad)
        if (out[t * stride + pad] != in[t * stride + pad] && bad++ < 5) ADD_FAILURE() << which << " padding changed";
    }
  };
  check(q, q_out, q_stride, c.n_heads, "q");
  check(k, k_out, k_stride, c.n_kv_heads, "k");
  EXPECT_EQ(bad, 0);
}

class JitRope : public ::testing::TestWithParam<Mode> {};

TEST_P(JitRope, MatchesReferenceOverShapes) {
  KILN_REQUIRE_GPU();
  std::vector<Case> cases;
  for (bool neox : {false, true})
    for (bool f16 : {false, true}) {
      cases.push_back({128, 128, 500000, neox, f16, 5, 32, 8, false, 1.0f});    // llama-8b
      cases.push_back({128, 128, 1e6, neox, f16, 1, 12, 2, false, 1.0f});       // qwen2-1.5b, one token
      cases.push_back({256, 256, 10000, neox, f16, 3, 8, 4, false, 0.125f});    // gemma3 local, linear x8
      cases.push_back({64, 64, 150000, neox, f16, 7, 64, 8, false, 1.0f});      // gpt-oss
      cases.push_back({128, 128, 500000, neox, f16, 2, 4, 2, true, 1.0f});      // llama3 rope_freqs
      cases.push_back({96, 32, 10000.5, neox, f16, 3, 3, 1, false, 1.0f});      // partial rotation, dynamic base
      cases.push_back({64, 64, 10000, neox, f16, 2, 5, 0, false, 1.0f});        // no k heads
    }
  std::vector<KernelKey> keys;
  for (const auto& c : cases) keys.push_back(rope_key({.head_dim = c.head_dim, .n_rot = c.n_rot, .freq_base = c.base, .neox = c.neox, .f16 = c.f16}));
  library_for(GetParam()).prepare(keys);
  std::mt19937 rng(4321);
  for (const auto& c : cases) run_case(GetParam(), c, rng);
}

INSTANTIATE_TEST_SUITE_P(Modes, JitRope, ::testing::Values(Mode::specialized, Mode::generic),
                         [](const auto& info) { return mode_label(info.param); });

}  // namespace
}  // namespace kiln::jit
