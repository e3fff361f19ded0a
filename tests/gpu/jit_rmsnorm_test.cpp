// rmsnorm.cuh on the GPU vs a double-precision CPU reference, both modes, over a shape sweep.
#include <random>

#include "jit/builtin_kernels.h"
#include "jit_gpu_util.h"
#include "kernels/rmsnorm_params.h"

namespace kiln::jit {
namespace {

using namespace testing;

struct Case {
  int n_embd, n_rows;
  bool fuse, out_f16;
  int threads = 0;  // 0: the heuristic's
};

KernelKey key_for(const Case& c) {
  return rmsnorm_key({.n_embd = c.n_embd, .fuse_residual = c.fuse, .out_f16 = c.out_f16, .threads = c.threads});
}

// Tolerance, relative to each output: the sum of squares is accumulated in float by a
// sequential run of at most ~64 terms per thread then a tree (<= ~80 roundings of 2^-24 in the
// worst case, about 5e-6), rsqrtf is within 2 ulp, and two products round once each: 1e-5
// covers it. An f16 output adds its rounding, half an ulp: 2^-11 relative (2^-24 absolute
// near zero).
double tolerance(double ref, bool out_f16) {
  return std::abs(ref) * (1e-5 + (out_f16 ? 1.0 / 2048 : 0.0)) + (out_f16 ? 6e-8 : 1e-30);
}

void run_case(Mode mode, const Case& c, std::mt19937& rng) {
  const KernelKey key = key_for(c);
  SCOPED_TRACE(::testing::Message() << mode_label(mode) << " " << key.str() << " rows=" << c.n_rows);
  const size_t n = static_cast<size_t>(c.n_embd) * c.n_rows;
  std::uniform_real_distribution<float> value(-2.0f, 2.0f), weight(0.5f, 1.5f);
  std::vector<float> x(n), residual(n), w(c.n_embd);
  for (auto& v : x) v = value(rng);
  for (auto& v : residual) v = value(rng);
  for (auto& v : w) v = weight(rng);
  const float eps = 1e-6f;

  DeviceBytes dx(n * 4), dres(n * 4), dw(c.n_embd * 4), dout(n * 4);
  dx.upload(x);
  dres.upload(residual);
  dw.upload(w);
  dout.poison();

  const Kernel& kernel = library_for(mode).get(key);
  RmsnormParams p{};
  p.x = dx.get<float>();
  p.residual = c.fuse ? dres.get<float>() : nullptr;
  p.residual_out = c.fuse ? dres.get<float>() : nullptr;  // in place, as the engine does
  p.weight = dw.get<float>();
  p.out = dout.get();
  p.n_rows = c.n_rows;
  p.n_embd = c.n_embd;
  p.eps = eps;
  kernel.launch(rmsnorm_launch(key, c.n_rows), nullptr, p);
  sync_and_check(kernel.name());

  std::vector<float> out(n);
  if (c.out_f16) {
    const auto bits = dout.download<uint16_t>(n);
    for (size_t i = 0; i < n; ++i) out[i] = f16_to_f32(bits[i]);
  } else {
    out = dout.download<float>(n);
  }
  const auto residual_after = dres.download<float>(n);

  int bad = 0;
  for (int r = 0; r < c.n_rows; ++r) {
    std::vector<float> h(c.n_embd);
    double sum_sq = 0;
    for (int i = 0; i < c.n_embd; ++i) {
      const size_t at = static_cast<size_t>(r) * c.n_embd + i;
      h[i] = c.fuse ? x[at] + residual[at] : x[at];  // the float sum the kernel must store exactly
      sum_sq += static_cast<double>(h[i]) * h[i];
    }
    const double scale = 1.0 / std::sqrt(sum_sq / c.n_embd + eps);
    for (int i = 0; i < c.n_embd; ++i) {
      const size_t at = static_cast<size_t>(r) * c.n_embd + i;
      const double ref = h[i] * scale * w[i];
      if (!(std::abs(out[at] - ref) <= tolerance(ref, c.out_f16)) && bad++ < 5)
        ADD_FAILURE() << "row " << r << " [" << i << "]: got " << out[at] << ", expected " << ref;
      if (c.fuse && residual_after[at] != h[i] && bad++ < 5)
        ADD_FAILURE() << "residual_out row " << r << " [" << i << "]: got " << residual_after[at] << ", expected " << h[i];
    }
  }
  EXPECT_EQ(bad, 0);
}

class JitRmsnorm : public ::testing::TestWithParam<Mode> {};

TEST_P(JitRmsnorm, MatchesReferenceOverShapes) {
  KILN_REQUIRE_GPU();
  std::vector<Case> cases;
  // Odd lengths (scalar path), one element, multiples of 4 (vector path), tails past the
  // thread count, the presets' widths and head dims.
  for (int n_embd : {1, 7, 33, 64, 127, 128, 256, 1000, 1536, 2880, 4096, 5003, 8192})
    for (bool fuse : {false, true})
      for (bool out_f16 : {false, true}) cases.push_back({n_embd, n_embd > 4096 ? 2 : 3, fuse, out_f16});
  std::vector<KernelKey> keys;
  for (const auto& c : cases) keys.push_back(key_for(c));
  library_for(GetParam()).prepare(keys);
  std::mt19937 rng(1234);
  for (const auto& c : cases) run_case(GetParam(), c, rng);
}

TEST_P(JitRmsnorm, ExplicitThreadCounts) {
  KILN_REQUIRE_GPU();
  std::mt19937 rng(99);
  // Fewer threads than vectors (several per thread), more threads than elements (idle ones).
  for (int threads : {32, 96, 1024})
    for (int n_embd : {1000, 4099, 64}) run_case(GetParam(), {n_embd, 2, true, true, threads}, rng);
}

INSTANTIATE_TEST_SUITE_P(Modes, JitRmsnorm, ::testing::Values(Mode::specialized, Mode::generic),
                         [](const auto& info) { return mode_label(info.param); });

}  // namespace
}  // namespace kiln::jit
