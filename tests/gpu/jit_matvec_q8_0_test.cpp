// matvec_q8_0.cuh on the GPU vs a double-precision CPU reference, both modes, over a shape
// sweep with odd row counts, rows that are not 16-byte aligned, and forced tuning.
#include <random>

#include "jit/builtin_kernels.h"
#include "jit_gpu_util.h"
#include "kernels/matvec_q8_0_params.h"

namespace kiln::jit {
namespace {

using namespace testing;

struct Case {
  int n_rows, n_cols;
  bool x_f16;
  bool bias;
  int rows_per_block = 0, threads = 0, stages = 0;  // 0: heuristic
  size_t w_offset = 0;                  // bytes W starts past an aligned allocation (even)
  bool exact_size = false;              // W's allocation ends exactly at its last byte
};

KernelKey key_for(const Case& c) {
  return matvec_q8_0_key({.n_rows = c.n_rows, .n_cols = c.n_cols, .x_f16 = c.x_f16,
                          .rows_per_block = c.rows_per_block, .threads = c.threads, .stages = c.stages});
}

// Random Q8_0 rows: f16 scales in [0.001, 0.02), int8 values over the whole range.
std::vector<uint8_t> random_q8_0(int n_rows, int n_cols, std::mt19937& rng) {
  std::vector<uint8_t> w(static_cast<size_t>(n_rows) * (n_cols / 32) * 34);
  std::uniform_real_distribution<float> scale(0.001f, 0.02f);
  std::uniform_int_distribution<int> q(-128, 127);
  for (size_t b = 0; b < w.size() / 34; ++b) {
    const uint16_t d = f32_to_f16(scale(rng));
    w[b * 34] = d & 0xff;
    w[b * 34 + 1] = d >> 8;
    for (int i = 0; i < 32; ++i) w[b * 34 + 2 + i] = static_cast<uint8_t>(static_cast<int8_t>(q(rng)));
  }
  return w;
}

// y[r] in double, and sum |w x| (the scale of the float rounding error).
void reference(const std::vector<uint8_t>& w, const std::vector<float>& x, int n_rows, int n_cols,
               std::vector<double>& y, std::vector<double>& magnitude) {
  const int blocks = n_cols / 32;
  y.assign(n_rows, 0.0);
  magnitude.assign(n_rows, 0.0);
  for (int r = 0; r < n_rows; ++r)
    for (int b = 0; b < blocks; ++b) {
      const uint8_t* block = &w[(static_cast<size_t>(r) * blocks + b) * 34];
      const double d = f16_to_f32(static_cast<uint16_t>(block[0] | (block[1] << 8)));
      for (int i = 0; i < 32; ++i) {
        const double term = d * static_cast<int8_t>(block[2 + i]) * x[b * 32 + i];
        y[r] += term;
        magnitude[r] += std::abs(term);
      }
    }
}

void run_case(Mode mode, const Case& c, std::mt19937& rng) {
  const KernelKey key = key_for(c);
  SCOPED_TRACE(::testing::Message() << mode_label(mode) << " " << key.str() << " bias=" << c.bias
                                    << " w_offset=" << c.w_offset);
  const std::vector<uint8_t> w = random_q8_0(c.n_rows, c.n_cols, rng);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::vector<float> x(c.n_cols), bias(c.n_rows);
  for (auto& v : x) v = c.x_f16 ? f16_to_f32(f32_to_f16(value(rng))) : value(rng);
  for (auto& v : bias) v = value(rng);

  DeviceBytes dw(w.size() + c.w_offset, c.exact_size ? 0 : 16), dx(c.n_cols * 4), dbias(c.n_rows * 4), dy(c.n_rows * 4);
  dw.upload(w, c.w_offset);
  if (c.x_f16) {
    std::vector<uint16_t> xh(c.n_cols);
    for (int i = 0; i < c.n_cols; ++i) xh[i] = f32_to_f16(x[i]);
    dx.upload(xh);
  } else {
    dx.upload(x);
  }
  dbias.upload(bias);
  dy.poison();

  const Kernel& kernel = library_for(mode).get(key);
  MatvecQ8_0Params p{};
  p.w = dw.get<char>(c.w_offset);
  p.x = dx.get();
  p.bias = c.bias ? dbias.get<float>() : nullptr;
  p.y = dy.get<float>();
  p.n_rows = c.n_rows;
  p.n_cols = c.n_cols;
  kernel.launch(matvec_q8_0_launch(key, c.n_rows, c.n_cols), nullptr, p);
  sync_and_check(kernel.name());
  const std::vector<float> y = dy.download<float>(c.n_rows);

  std::vector<double> expected, magnitude;
  reference(w, x, c.n_rows, c.n_cols, expected, magnitude);
  int bad = 0;
  for (int r = 0; r < c.n_rows; ++r) {
    const double ref = expected[r] + (c.bias ? bias[r] : 0.0);
    // Float accumulation: 32 FMAs per block, the scale, a few blocks per thread, a warp and a
    // block reduction: < 60 roundings of 2^-24, each bounded by sum |w x| (+ |bias|): 1e-5.
    const double tol = 1e-5 * (magnitude[r] + (c.bias ? std::abs(bias[r]) : 0.0)) + 1e-30;
    if (!(std::abs(y[r] - ref) <= tol) && bad++ < 5)
      ADD_FAILURE() << "row " << r << ": got " << y[r] << ", expected " << ref << " (tolerance " << tol << ")";
  }
  EXPECT_EQ(bad, 0);
}

class JitMatvecQ8_0 : public ::testing::TestWithParam<Mode> {};

TEST_P(JitMatvecQ8_0, MatchesReferenceOverShapes) {
  KILN_REQUIRE_GPU();
  std::vector<Case> cases;
  for (bool x_f16 : {false, true}) {
    cases.push_back({1, 32, x_f16, false});         // one block
    cases.push_back({3, 64, x_f16, true});
    cases.push_back({7, 2880, x_f16, false});       // 3060-byte rows: every row starts 4-byte aligned only
    cases.push_back({513, 2880, x_f16, true});      // gpt-oss attn, odd rows
    cases.push_back({256, 1536, x_f16, false});     // qwen2-1.5b attn_k
    cases.push_back({4097, 4096, x_f16, true});     // one row past a block of rows
    cases.push_back({1024, 14336, x_f16, false});   // long rows (ffn_down)
    cases.push_back({100, 96, x_f16, false, 3, 32, 2});    // 3 rows per block, a partial tile
    cases.push_back({37, 2880, x_f16, true, 8, 64, 4});    // a partial last block of 8 rows
    cases.push_back({65, 4096, x_f16, false, 1, 256, 1});  // more warps than tiles, no pipelining
    cases.push_back({9, 4096, x_f16, false, 2, 32, 8});    // one warp, deep pipeline
    cases.push_back({19, 2880, x_f16, false, 2, 64, 3, 2});   // W itself only 2-byte aligned
    cases.push_back({19, 1536, x_f16, true, 4, 128, 2, 6});
    cases.push_back({33, 544, x_f16, true, 5, 96, 3, 0, true});  // 17 blocks per row; W ends at its allocation
  }
  std::vector<KernelKey> keys;
  for (const auto& c : cases) keys.push_back(key_for(c));
  library_for(GetParam()).prepare(keys);
  std::mt19937 rng(777);
  for (const auto& c : cases) run_case(GetParam(), c, rng);
}

INSTANTIATE_TEST_SUITE_P(Modes, JitMatvecQ8_0, ::testing::Values(Mode::specialized, Mode::generic),
                         [](const auto& info) { return mode_label(info.param); });

}  // namespace
}  // namespace kiln::jit
