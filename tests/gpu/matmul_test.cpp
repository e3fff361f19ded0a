// gemm_q8_0 and matvec_q8r on the GPU vs a double-precision CPU reference over a shape sweep:
// m = 1, 7, 64, 129, 512; n odd and across tile edges; k = 32, 96, 4096; every epilogue; both
// JIT modes; the mma.sync GEMM path and the GEMM at m <= 8 too.
//
// Reference: the same f16 activations and the same dequantized weights (engine::q8r_dequantize:
// each weight f16(q * d), exactly what the kernels feed the tensor cores), products summed in
// double. So the only differences are the kernels' f32 accumulation and the output rounding:
//   plain:  |out - ref| <= k * 2^-23 * sum_k |a_k w_k|   (+ 2^-11 |ref| when out is f16)
// k * 2^-23 is the worst case of a k-term f32 sum (2^-24 per addition, doubled because the
// tensor cores may truncate instead of round); typical errors are far smaller, and an indexing
// error (a wrong or missing group) is far larger. Gated: out = act(g) * u, so the errors of g
// and u propagate with |act'| <= 1.2 (silu and gelu_tanh): 1.2 |u| E_g + |act(g)| E_u, plus the
// f16 rounding of the output and 1e-5 relative for __expf/tanhf. A relative L2 check
// (||out - ref|| / ||ref|| <= 1e-3 for f16 outputs, 1e-5 for f32) catches systematic drift.
#include <cmath>
#include <map>
#include <random>
#include <tuple>

#include "engine/matmul.h"
#include "engine/q8_0_repack.h"
#include "jit_gpu_util.h"
#include "q8r_test_matrix.h"

namespace kiln::engine {
namespace {

using jit::Mode;
using jit::testing::DeviceBytes;
using jit::testing::f16_to_f32;
using jit::testing::f32_to_f16;

struct Shape {
  int n, k;
};
constexpr Shape kShapes[] = {{64, 32}, {257, 96}, {136, 4096}};
constexpr int kTokens[] = {1, 7, 64, 129, 512};

// Everything one (shape, m) needs: weights, activations and the raw products.
struct Problem {
  int n, k, m, lda;
  Matrix w, w_up;
  std::vector<float> a;          // [m][k] f16-rounded
  std::vector<double> dot, dot_up;  // [m][n]
  std::vector<double> mag, mag_up;  // sum |a w|
  std::vector<float> bias, bias_up;
  std::unique_ptr<DeviceBytes> a_dev, bias_dev, bias_up_dev;
};

Problem& problem(int n, int k, int m) {
  static std::map<std::tuple<int, int, int>, std::unique_ptr<Problem>> cache;
  auto& slot = cache[{n, k, m}];
  if (slot) return *slot;
  std::mt19937 rng(static_cast<unsigned>(n * 7919 + k * 31 + m));
  auto p = std::make_unique<Problem>();
  p->n = n;
  p->k = k;
  p->m = m;
  p->lda = k + 8;  // rows not packed: the kernels must use lda
  p->w = make_matrix(n, k, rng);
  p->w_up = make_matrix(n, k, rng);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::vector<uint16_t> a16(static_cast<size_t>(m) * p->lda, 0x7e00);  // padding columns: NaN, never read
  p->a.resize(static_cast<size_t>(m) * k);
  for (int t = 0; t < m; ++t)
    for (int c = 0; c < k; ++c) {
      const uint16_t h = f32_to_f16(value(rng));
      a16[static_cast<size_t>(t) * p->lda + c] = h;
      p->a[static_cast<size_t>(t) * k + c] = f16_to_f32(h);
    }
  p->a_dev = std::make_unique<DeviceBytes>(a16.size() * 2);
  p->a_dev->upload(a16);
  p->bias.resize(n);
  p->bias_up.resize(n);
  for (auto& b : p->bias) b = value(rng);
  for (auto& b : p->bias_up) b = value(rng);
  p->bias_dev = std::make_unique<DeviceBytes>(n * 4);
  p->bias_up_dev = std::make_unique<DeviceBytes>(n * 4);
  p->bias_dev->upload(p->bias);
  p->bias_up_dev->upload(p->bias_up);
  auto products = [&](const Matrix& mat, std::vector<double>& dot, std::vector<double>& mag) {
    dot.assign(static_cast<size_t>(m) * n, 0.0);
    mag.assign(static_cast<size_t>(m) * n, 0.0);
    for (int t = 0; t < m; ++t)
      for (int r = 0; r < n; ++r) {
        const float* x = &p->a[static_cast<size_t>(t) * k];
        const float* w = &mat.w[static_cast<size_t>(r) * k];
        double s = 0, s_abs = 0;
        for (int c = 0; c < k; ++c) {
          const double prod = static_cast<double>(x[c]) * w[c];
          s += prod;
          s_abs += std::abs(prod);
        }
        dot[static_cast<size_t>(t) * n + r] = s;
        mag[static_cast<size_t>(t) * n + r] = s_abs;
      }
  };
  products(p->w, p->dot, p->mag);
  products(p->w_up, p->dot_up, p->mag_up);
  slot = std::move(p);
  return *slot;
}

double act_ref(MatmulAct act, double x) {
  if (act == MatmulAct::silu) return x / (1.0 + std::exp(-x));
  if (act == MatmulAct::gelu_tanh) return 0.5 * x * (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
  return x;
}

struct Variant {
  MatmulOut out;
  MatmulAct act;
  bool bias;
};
constexpr Variant kVariants[] = {
    {MatmulOut::f16, MatmulAct::none, false},       {MatmulOut::f32, MatmulAct::none, true},
    {MatmulOut::add_f32, MatmulAct::none, true},    {MatmulOut::add_f32, MatmulAct::none, false},
    {MatmulOut::gated_f16, MatmulAct::silu, false}, {MatmulOut::gated_f16, MatmulAct::gelu_tanh, true},
};

std::string label(const Variant& v) {
  const char* outs[] = {"f16", "f32", "add_f32", "gated_f16"};
  const char* acts[] = {"", "+silu", "+gelu_tanh"};
  return std::string(outs[static_cast<int>(v.out)]) + acts[static_cast<int>(v.act)] + (v.bias ? "+bias" : "");
}

// A launch of variant v over p's activations, weights and biases, writing out [m][ldo].
MatmulArgs problem_args(const Problem& p, const Variant& v, void* out, int ldo, int m) {
  const bool gated = v.out == MatmulOut::gated_f16;
  MatmulArgs args;
  args.a = p.a_dev->get();
  args.lda = p.lda;
  args.w = {p.w.qs->get(), p.w.d->get()};
  if (gated) args.w_up = {p.w_up.qs->get(), p.w_up.d->get()};
  if (v.bias) {
    args.bias = p.bias_dev->get<float>();
    if (gated) args.bias_up = p.bias_up_dev->get<float>();
  }
  args.out = out;
  args.ldo = ldo;
  args.m = m;
  return args;
}

// Runs one product and compares every output element.
void run_case(Mode mode, const Shape& shape, int m, const Variant& v, const MatmulTuning& tuning) {
  Problem& p = problem(shape.n, shape.k, m);
  const MatmulShape s{shape.n, shape.k, v.out, v.act, v.bias};
  const jit::KernelKey key = matmul_key(s, m, MatmulTarget{jit::Device::current().sm_count,
                                                           jit::Device::current().cc_major},
                                        tuning);
  jit::Library& lib = jit::testing::library_for(mode);
  SCOPED_TRACE(::testing::Message() << lib.resolve(key).str() << " m=" << m << " n=" << shape.n << " k=" << shape.k
                                    << " " << label(v));
  const bool gated = v.out == MatmulOut::gated_f16;
  const bool f32_out = v.out == MatmulOut::f32 || v.out == MatmulOut::add_f32;
  const int ldo = shape.n + 3;  // odd: padding columns must stay untouched
  const size_t elems = static_cast<size_t>(m) * ldo, elem_bytes = f32_out ? 4 : 2;
  DeviceBytes out(elems * elem_bytes);
  std::vector<float> residual;
  if (v.out == MatmulOut::add_f32) {
    std::mt19937 rng(static_cast<unsigned>(m + shape.n));
    std::uniform_real_distribution<float> value(-4.0f, 4.0f);
    residual.resize(elems);
    for (auto& r : residual) r = value(rng);
    out.upload(residual);
  } else {
    out.poison();
  }

  const MatmulArgs args = problem_args(p, v, out.get(), ldo, m);
  matmul_launch(lib.get(key), s, args, nullptr);
  jit::testing::sync_and_check(key.str());

  std::vector<float> got(elems);
  std::vector<uint32_t> raw(elems);
  if (f32_out) {
    const auto host = out.download<float>(elems);
    for (size_t i = 0; i < elems; ++i) {
      got[i] = host[i];
      std::memcpy(&raw[i], &host[i], 4);
    }
  } else {
    const auto host = out.download<uint16_t>(elems);
    for (size_t i = 0; i < elems; ++i) {
      got[i] = f16_to_f32(host[i]);
      raw[i] = host[i];
    }
  }

  const double eps_acc = shape.k * std::ldexp(1.0, -23), f16_round = f32_out ? 0.0 : std::ldexp(1.0, -11);
  double err2 = 0, ref2 = 0, worst = 0;
  int bad = 0;
  for (int t = 0; t < m; ++t) {
    for (int c = 0; c < ldo; ++c) {
      const size_t i = static_cast<size_t>(t) * ldo + c;
      if (c >= shape.n) {  // padding column: still the poison / the residual
        const bool untouched = v.out == MatmulOut::add_f32 ? got[i] == residual[i] : raw[i] == (f32_out ? 0xffffffffu : 0xffffu);
        if (!untouched && bad++ < 5) ADD_FAILURE() << "wrote past n at token " << t << " column " << c;
        continue;
      }
      const size_t j = static_cast<size_t>(t) * shape.n + c;
      double ref, tol;
      if (gated) {
        const double g = p.dot[j] + (v.bias ? p.bias[c] : 0.0), u = p.dot_up[j] + (v.bias ? p.bias_up[c] : 0.0);
        const double e_g = eps_acc * p.mag[j], e_u = eps_acc * p.mag_up[j];
        ref = act_ref(v.act, g) * u;
        tol = 1.2 * std::abs(u) * e_g + std::abs(act_ref(v.act, g)) * e_u + (f16_round + 1e-5) * std::abs(ref);
      } else {
        ref = p.dot[j] + (v.bias ? p.bias[c] : 0.0) + (v.out == MatmulOut::add_f32 ? residual[i] : 0.0);
        tol = eps_acc * p.mag[j] + f16_round * std::abs(ref) + (v.out == MatmulOut::add_f32 ? 1e-6 * std::abs(ref) : 0.0);
      }
      tol += 1e-7;
      const double err = std::abs(got[i] - ref);
      if (!(err <= tol)) {  // NaN fails too
        if (bad++ < 5)
          ADD_FAILURE() << "token " << t << " feature " << c << ": got " << got[i] << ", want " << ref << " (tol "
                        << tol << ")";
      }
      worst = std::max(worst, err / tol);
      err2 += (got[i] - ref) * (got[i] - ref);
      ref2 += ref * ref;
    }
  }
  EXPECT_EQ(bad, 0) << bad << " bad elements; worst err/tol " << worst;
  const double rel = std::sqrt(err2 / std::max(ref2, 1e-300));
  EXPECT_LE(rel, f32_out ? 1e-5 : 1e-3) << "relative L2 error";
}

void run_sweep(Mode mode, const MatmulTuning& tuning, const std::vector<int>& tokens,
               const std::vector<Shape>& shapes = {std::begin(kShapes), std::end(kShapes)}) {
  // Compile everything the sweep needs in parallel first.
  const jit::Device& dev = jit::Device::current();
  std::vector<jit::KernelKey> keys;
  for (const Shape& shape : shapes)
    for (int m : tokens)
      for (const Variant& v : kVariants)
        keys.push_back(matmul_key({shape.n, shape.k, v.out, v.act, v.bias}, m, {dev.sm_count, dev.cc_major}, tuning));
  jit::testing::library_for(mode).prepare(keys);
  for (const Shape& shape : shapes)
    for (int m : tokens)
      for (const Variant& v : kVariants) {
        run_case(mode, shape, m, v, tuning);
        if (::testing::Test::HasFailure()) return;  // one broken case says enough
      }
}

std::vector<int> all_tokens() { return std::vector<int>(std::begin(kTokens), std::end(kTokens)); }

TEST(MatmulGpu, Specialized) {
  KILN_REQUIRE_GPU();
  run_sweep(Mode::specialized, {}, all_tokens());
}

TEST(MatmulGpu, Generic) {
  KILN_REQUIRE_GPU();
  run_sweep(Mode::generic, {}, all_tokens());
}

// matvec_q8r (the mat-vec of shapes matvec_q8r_stream cannot run) under other register budgets
// than the default's: none (min_blocks 1, the compiler's choice) and 64 registers (4 blocks per SM).
TEST(MatmulGpu, MatvecRegisterBudgets) {
  KILN_REQUIRE_GPU();
  for (int min_blocks : {1, 4}) {
    MatmulTuning tuning;
    tuning.stream = 0;
    tuning.min_blocks = min_blocks;
    run_sweep(Mode::specialized, tuning, {1, 7});
    if (HasFailure()) return;
  }
}

// The streamed mat-vec (matvec_q8r_stream) on shapes it runs: fewer tiles than SMs, a last
// chunk of K shorter than the others (k = 1280 in chunks of 1024 or 2048: 4 groups for 8
// consumer warps), more tiles than SMs (CTAs loop over tiles; the ring wraps across tiles); the
// default chunk and ring, chunks of 256 in a 2-stage ring (the ring wraps within a tile), and at
// one token the deepest ring the engine may take (EngineOptions::stream_stages).
const std::vector<Shape> kStreamShapes = {{64, 256}, {256, 1280}, {4096, 4352}};

TEST(MatmulGpu, MatvecStream) {
  KILN_REQUIRE_GPU();
  MatmulTuning small_ring, mid_ring;
  small_ring.chunk = 256;
  small_ring.stream_stages = 2;
  mid_ring.chunk = 1024;
  mid_ring.stream_stages = 4;
  for (const Shape& shape : kStreamShapes)
    ASSERT_EQ(matmul_key({shape.n, shape.k, MatmulOut::f16}, 1).kernel, "matvec_q8r_stream");
  for (Mode mode : {Mode::specialized, Mode::generic})
    for (const MatmulTuning& t : {MatmulTuning{}, small_ring, mid_ring}) {
      run_sweep(mode, t, {1, 7}, kStreamShapes);
      if (HasFailure()) return;
    }
  for (const Shape& shape : kStreamShapes) {
    MatmulTuning deep_ring;
    deep_ring.stream_stages = matvec_stream_stages_up_to({shape.n, shape.k, MatmulOut::f16}, 1, 8);
    ASSERT_GE(deep_ring.stream_stages, 5);
    for (Mode mode : {Mode::specialized, Mode::generic}) {
      run_sweep(mode, deep_ring, {1}, {shape});
      if (HasFailure()) return;
    }
  }
}

// The sm_80 GEMM path (mma.sync), which sm_90 never picks by itself.
TEST(MatmulGpu, MmaSyncGemm) {
  KILN_REQUIRE_GPU();
  MatmulTuning tuning;
  tuning.wgmma = 0;
  run_sweep(Mode::specialized, tuning, {7, 64, 129, 512});
}

// The GEMM for token counts the mat-vec normally takes (smallest tiles, mostly-empty tiles).
TEST(MatmulGpu, GemmAtFewTokens) {
  KILN_REQUIRE_GPU();
  MatmulTuning tuning;
  tuning.force_gemm = true;
  run_sweep(Mode::specialized, tuning, {1, 7});
}

// Every tile_m the wgmma GEMM can take, both ways of publishing a stage, at a token count that
// leaves a partial last tile.
TEST(MatmulGpu, WgmmaTileSizes) {
  KILN_REQUIRE_GPU();
  if (jit::Device::current().cc_major < 9) GTEST_SKIP() << "wgmma needs sm_90";
  // activations: cp.async + producer publishes, cp.async + noinc, TMA, TMA multicast over 2 and 4 CTAs
  for (int mode : {0, 1, 2, 3, 4})
    for (int tile_m : {16, 32, 64, 128, 256}) {
      const int cluster = mode == 3 ? 2 : mode == 4 ? 4 : 1;
      if (tile_m < 8 * cluster) continue;
      MatmulTuning tuning;
      tuning.tile_m = tile_m;
      tuning.wgmma = 1;
      tuning.noinc = mode >= 1;
      tuning.tma = mode >= 2;
      tuning.cluster = cluster;
      run_sweep(Mode::specialized, tuning, {129});
      if (HasFailure()) return;
    }
}

// The mat-vec's norm epilogue (decode: o and down write the next RMS norm where its reader cannot
// normalize its own input, see InputNorm below): the residual as in run_case, and norm_out
// against the norm of that residual in double. Bound: the
// f16 rounding of the output (2^-11), the f32 sum of squares (n terms, 2^-24 each) and rsqrtf
// (2^-22, with slack), all relative to |y|. Three launches in a row, norm_out poisoned before
// each: the counter the last block resets must be ready for the next launch (graph replays).
void run_norm_case(Mode mode, const Shape& shape, int m, const MatmulTuning& tuning, const char* kernel) {
  Problem& p = problem(shape.n, shape.k, m);
  const MatmulShape s{.n = shape.n, .k = shape.k, .out = MatmulOut::add_f32, .norm = true};
  const jit::Device& dev = jit::Device::current();
  const jit::KernelKey key = matmul_key(s, m, MatmulTarget{dev.sm_count, dev.cc_major}, tuning);
  ASSERT_EQ(key.kernel, kernel);
  jit::Library& lib = jit::testing::library_for(mode);
  SCOPED_TRACE(::testing::Message() << lib.resolve(key).str() << " m=" << m << " n=" << shape.n << " k=" << shape.k);
  const int ldo = shape.n + 3;
  const size_t elems = static_cast<size_t>(m) * ldo;
  std::mt19937 rng(static_cast<unsigned>(3 * m + shape.n));
  std::uniform_real_distribution<float> value(-4.0f, 4.0f), gain(0.5f, 1.5f);
  std::vector<float> residual(elems), weight(shape.n);
  for (auto& r : residual) r = value(rng);
  for (auto& w : weight) w = gain(rng);
  const float eps = 1e-5f;
  DeviceBytes out(elems * 4), norm_out(static_cast<size_t>(m) * shape.n * 2), weight_dev(shape.n * 4), counter(4);
  weight_dev.upload(weight);
  counter.upload(std::vector<int>{0});

  MatmulArgs args;
  args.a = p.a_dev->get();
  args.lda = p.lda;
  args.w = {p.w.qs->get(), p.w.d->get()};
  args.out = out.get();
  args.ldo = ldo;
  args.m = m;
  args.norm_weight = weight_dev.get<float>();
  args.norm_out = norm_out.get();
  args.norm_counter = counter.get<int>();
  args.norm_eps = eps;
  const double eps_acc = shape.k * std::ldexp(1.0, -23);
  const double norm_rel = std::ldexp(1.0, -11) + shape.n * std::ldexp(1.0, -24) + std::ldexp(1.0, -20);
  for (int launch = 0; launch < 3; ++launch) {
    out.upload(residual);
    norm_out.poison();
    matmul_launch(lib.get(key), s, args, nullptr);
    jit::testing::sync_and_check(key.str());
    const auto h = out.download<float>(elems);
    const auto y = norm_out.download<uint16_t>(static_cast<size_t>(m) * shape.n);
    int bad = 0;
    for (int t = 0; t < m; ++t) {
      double sum_sq = 0;
      for (int c = 0; c < shape.n; ++c) {
        const size_t i = static_cast<size_t>(t) * ldo + c, j = static_cast<size_t>(t) * shape.n + c;
        const double ref = p.dot[j] + residual[i];
        if (!(std::abs(h[i] - ref) <= eps_acc * p.mag[j] + 1e-6 * std::abs(ref) + 1e-7) && bad++ < 5)
          ADD_FAILURE() << "launch " << launch << " token " << t << " feature " << c << ": residual " << h[i]
                        << ", want " << ref;
        sum_sq += static_cast<double>(h[i]) * h[i];
      }
      const double scale = 1.0 / std::sqrt(sum_sq / shape.n + eps);
      for (int c = 0; c < shape.n; ++c) {
        const double ref = h[static_cast<size_t>(t) * ldo + c] * scale * weight[c];
        const double got = f16_to_f32(y[static_cast<size_t>(t) * shape.n + c]);
        if (!(std::abs(got - ref) <= norm_rel * std::abs(ref) + 1e-6) && bad++ < 5)
          ADD_FAILURE() << "launch " << launch << " token " << t << " feature " << c << ": norm " << got << ", want "
                        << ref;
      }
    }
    ASSERT_EQ(bad, 0) << bad << " bad elements at launch " << launch;
  }
}

TEST(MatmulGpu, NormEpilogue) {
  KILN_REQUIRE_GPU();
  MatmulTuning blocks, stream;
  blocks.stream = 0;
  for (Mode mode : {Mode::specialized, Mode::generic}) {
    for (const Shape& shape : {Shape{257, 96}, Shape{136, 4096}, Shape{1536, 1536}})
      for (int m : {1, 3, 8}) {
        run_norm_case(mode, shape, m, blocks, "matvec_q8r");
        if (HasFailure()) return;
      }
    for (const Shape& shape : {Shape{1536, 1536}, Shape{4096, 4352}})
      for (int m : {1, 3}) {
        run_norm_case(mode, shape, m, stream, "matvec_q8r_stream");
        if (HasFailure()) return;
      }
  }
}

// matvec_q8r_stream normalizing its own input (in_norm): a holds f32 residual rows, which the
// kernel turns into f16(h * rsqrt(mean(h^2) + eps) * weight) before the product. Reference: the
// same in double, unrounded; on top of the accumulation bound each input element may be off by
// its f16 rounding (2^-11 relative) and the f32 scale by ~2^-20, so the bound is
// (k 2^-23 + 2^-11 + 2^-20) sum |x w|. A wrong row, scale or weight index is off by O(1).
void run_in_norm_case(Mode mode, const Shape& shape, int m, const Variant& v, const MatmulTuning& tuning = {}) {
  Problem& p = problem(shape.n, shape.k, m);  // its weights; the activations are made here
  const MatmulShape s{.n = shape.n, .k = shape.k, .out = v.out, .act = v.act, .has_bias = v.bias, .in_norm = true};
  const jit::Device& dev = jit::Device::current();
  const jit::KernelKey key = matmul_key(s, m, MatmulTarget{dev.sm_count, dev.cc_major}, tuning);
  ASSERT_EQ(key.kernel, "matvec_q8r_stream");
  jit::Library& lib = jit::testing::library_for(mode);
  SCOPED_TRACE(::testing::Message() << lib.resolve(key).str() << " m=" << m << " n=" << shape.n << " k=" << shape.k
                                    << " " << label(v));
  const bool gated = v.out == MatmulOut::gated_f16;
  const int lda = shape.k + 4;  // rows not packed; the padding is NaN, never read
  std::mt19937 rng(static_cast<unsigned>(5 * m + shape.k));
  std::uniform_real_distribution<float> value(-4.0f, 4.0f), gain(0.5f, 1.5f);
  std::vector<float> h(static_cast<size_t>(m) * lda, std::nanf("")), weight(shape.k);
  for (int t = 0; t < m; ++t)
    for (int c = 0; c < shape.k; ++c) h[static_cast<size_t>(t) * lda + c] = value(rng) * (t + 1);
  for (auto& w : weight) w = gain(rng);
  const float eps = 1e-6f;
  DeviceBytes h_dev(h.size() * 4), weight_dev(weight.size() * 4), out(static_cast<size_t>(m) * shape.n * 4);
  h_dev.upload(h);
  weight_dev.upload(weight);
  out.poison();

  MatmulArgs args = problem_args(p, v, out.get(), shape.n, m);
  args.a = h_dev.get();
  args.lda = lda;
  args.in_norm_weight = weight_dev.get<float>();
  args.in_norm_eps = eps;
  matmul_launch(lib.get(key), s, args, nullptr);
  jit::testing::sync_and_check(key.str());
  std::vector<double> got(static_cast<size_t>(m) * shape.n);
  if (gated) {
    const auto raw = out.download<uint16_t>(got.size());
    for (size_t i = 0; i < got.size(); ++i) got[i] = f16_to_f32(raw[i]);
  } else {
    const auto raw = out.download<float>(got.size());
    for (size_t i = 0; i < got.size(); ++i) got[i] = raw[i];
  }

  const double eps_in = shape.k * std::ldexp(1.0, -23) + std::ldexp(1.0, -11) + std::ldexp(1.0, -20);
  int bad = 0;
  for (int t = 0; t < m; ++t) {
    const float* row = &h[static_cast<size_t>(t) * lda];
    double sum_sq = 0;
    for (int c = 0; c < shape.k; ++c) sum_sq += static_cast<double>(row[c]) * row[c];
    const double scale = 1.0 / std::sqrt(sum_sq / shape.k + eps);
    const auto product = [&](const Matrix& mat, int r, double& mag) {
      double dot = 0;
      mag = 0;
      for (int c = 0; c < shape.k; ++c) {
        const double prod = row[c] * scale * weight[c] * mat.w[static_cast<size_t>(r) * shape.k + c];
        dot += prod;
        mag += std::abs(prod);
      }
      return dot;
    };
    for (int r = 0; r < shape.n; ++r) {
      double mag_g = 0, mag_u = 0, ref, tol;
      const double g = product(p.w, r, mag_g) + (v.bias ? p.bias[r] : 0.0);
      if (gated) {
        const double u = product(p.w_up, r, mag_u) + (v.bias ? p.bias_up[r] : 0.0);
        ref = act_ref(v.act, g) * u;
        tol = 1.2 * std::abs(u) * eps_in * mag_g + std::abs(act_ref(v.act, g)) * eps_in * mag_u +
              (std::ldexp(1.0, -11) + 1e-5) * std::abs(ref);
      } else {
        ref = g;
        tol = eps_in * mag_g;
      }
      const double x = got[static_cast<size_t>(t) * shape.n + r];
      if (!(std::abs(x - ref) <= tol + 1e-6) && bad++ < 5)
        ADD_FAILURE() << "token " << t << " feature " << r << ": got " << x << ", want " << ref << " (tol " << tol
                      << ")";
    }
  }
  ASSERT_EQ(bad, 0) << bad << " bad elements";
}

// The input norm over both builds, m = 1, 3, 8, a plain product with a bias (qkv, LM head) and the
// gated one (gate+up), K in one chunk and in several.
TEST(MatmulGpu, InputNorm) {
  KILN_REQUIRE_GPU();
  if (jit::Device::current().cc_major < 9) GTEST_SKIP() << "matvec_q8r_stream needs sm_90";
  const Variant plain{MatmulOut::f32, MatmulAct::none, true}, gated{MatmulOut::gated_f16, MatmulAct::silu, false};
  for (Mode mode : {Mode::specialized, Mode::generic})
    for (int m : {1, 3, 8}) {
      for (const Shape& shape : {Shape{1536, 1536}, Shape{4096, 4352}}) {
        run_in_norm_case(mode, shape, m, plain);
        if (HasFailure()) return;
      }
      for (const Shape& shape : {Shape{136, 4096}, Shape{1536, 1536}}) {
        run_in_norm_case(mode, shape, m, gated);
        if (HasFailure()) return;
      }
    }
  // The deepest ring beside the normalized rows (EngineOptions::stream_stages), as llama-8b's qkv.
  const MatmulShape qkv{.n = 6144, .k = 4096, .out = MatmulOut::f32, .in_norm = true};
  MatmulTuning deep_ring;
  deep_ring.stream_stages = matvec_stream_stages_up_to(qkv, 1, 8);
  ASSERT_GE(deep_ring.stream_stages, 5);
  for (Mode mode : {Mode::specialized, Mode::generic}) run_in_norm_case(mode, {6144, 4096}, 1, plain, deep_ring);
}

}  // namespace
}  // namespace kiln::engine

namespace kiln::engine {
namespace {

// No atomic accumulation anywhere, so a product must come out bit-identical every time; a result that
// moves between runs is a race (e.g. a stage read before it landed). Every publishing mode,
// TMA multicast over clusters of 2 and 4 included.
TEST(MatmulGpu, RepeatedRunsAreBitIdentical) {
  KILN_REQUIRE_GPU();
  const jit::Device& dev = jit::Device::current();
  Problem& p = problem(136, 4096, 512);
  for (int mode : {0, 1, 2, 3, 4}) {
    MatmulTuning tuning;
    tuning.noinc = mode >= 1;
    tuning.tma = mode >= 2;
    tuning.cluster = mode == 3 ? 2 : mode == 4 ? 4 : 1;
    if (mode == 4) tuning.tile_m = 64;  // the heuristic's 16 is too few rows to split over 4 CTAs
    const MatmulShape s{136, 4096, MatmulOut::gated_f16, MatmulAct::silu, false};
    const jit::KernelKey key = matmul_key(s, 512, {dev.sm_count, dev.cc_major}, tuning);
    const jit::Kernel& kernel = jit::testing::library_for(Mode::specialized).get(key);
    DeviceBytes out(static_cast<size_t>(512) * 136 * 2);
    MatmulArgs args;
    args.a = p.a_dev->get();
    args.lda = p.lda;
    args.w = {p.w.qs->get(), p.w.d->get()};
    args.w_up = {p.w_up.qs->get(), p.w_up.d->get()};
    args.out = out.get();
    args.ldo = 136;
    args.m = 512;
    std::vector<uint16_t> first;
    for (int run = 0; run < 50; ++run) {
      out.poison();
      matmul_launch(kernel, s, args, nullptr);
      jit::testing::sync_and_check(key.str());
      const auto got = out.download<uint16_t>(static_cast<size_t>(512) * 136);
      if (run == 0) first = got;
      ASSERT_EQ(got, first) << key.str() << ": run " << run << " differs from run 0";
    }
  }
}

}  // namespace
}  // namespace kiln::engine
