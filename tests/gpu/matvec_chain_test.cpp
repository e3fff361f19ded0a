// matvec_chain against the four stream mat-vecs it replaces (o, gate+up normalizing h, down,
// next normalizing h), launched one by one on the same inputs. Every tile is the same sums in the
// same order (same chunks, same warps, same epilogue), and the inputs are the same bits, so the
// residual h, the FFN activations and the next product's outputs must be bit-identical; the
// stream kernel's own accuracy is MatmulGpu's. The chain runs three times on one barrier counter
// (its count carries over launches), in both builds, at 1 and 2 tokens, on shapes with fewer and
// more tiles than SMs, a K that is not a whole number of chunks, and biases on o and next.
#include <cstring>
#include <random>

#include "engine/matvec_chain.h"
#include "jit_gpu_util.h"
#include "q8r_test_matrix.h"

namespace kiln::engine {
namespace {

using jit::Mode;
using jit::testing::DeviceBytes;

struct ChainCase {
  int n_embd, k_o, n_ff, n_next;
  bool o_bias, next_bias;
};

template <class T>
std::vector<T> random_vector(size_t n, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> value(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) {
    if constexpr (std::is_same_v<T, uint16_t>) x = jit::testing::f32_to_f16(value(rng));
    else x = value(rng);
  }
  return v;
}

void run_chain_case(Mode mode, const ChainCase& c, int m) {
  const jit::Device& dev = jit::Device::current();
  const MatmulTarget target{dev.sm_count, dev.cc_major};
  const ChainShapes s{
      .o = {.n = c.n_embd, .k = c.k_o, .out = MatmulOut::add_f32, .has_bias = c.o_bias},
      .up = {.n = c.n_ff, .k = c.n_embd, .out = MatmulOut::gated_f16, .act = MatmulAct::silu, .in_norm = true},
      .down = {.n = c.n_embd, .k = c.n_ff, .out = MatmulOut::add_f32},
      .next = {.n = c.n_next, .k = c.n_embd, .out = MatmulOut::f32, .has_bias = c.next_bias, .in_norm = true}};
  ASSERT_TRUE(matvec_chain_fits(s, m, target));
  jit::Library& lib = jit::testing::library_for(mode);
  const jit::KernelKey chain_key = matvec_chain_key(s, m, target);
  SCOPED_TRACE(::testing::Message() << lib.resolve(chain_key).str() << " m=" << m);

  std::mt19937 rng(static_cast<unsigned>(c.n_ff * 31 + c.n_next + m));
  Matrix wo = make_matrix(c.n_embd, c.k_o, rng, false), wg = make_matrix(c.n_ff, c.n_embd, rng, false),
         wu = make_matrix(c.n_ff, c.n_embd, rng, false), wd = make_matrix(c.n_embd, c.n_ff, rng, false),
         wn = make_matrix(c.n_next, c.n_embd, rng, false);
  const auto h0 = random_vector<float>(static_cast<size_t>(m) * c.n_embd, rng, -4.0f, 4.0f);
  const auto attn = random_vector<uint16_t>(static_cast<size_t>(m) * c.k_o, rng, -1.0f, 1.0f);
  const auto ffn_norm = random_vector<float>(c.n_embd, rng, 0.5f, 1.5f);
  const auto next_norm = random_vector<float>(c.n_embd, rng, 0.5f, 1.5f);
  const auto o_bias = random_vector<float>(c.n_embd, rng, -1.0f, 1.0f);
  const auto next_bias = random_vector<float>(c.n_next, rng, -1.0f, 1.0f);
  DeviceBytes attn_dev(attn.size() * 2), ffn_norm_dev(ffn_norm.size() * 4), next_norm_dev(next_norm.size() * 4),
      o_bias_dev(o_bias.size() * 4), next_bias_dev(next_bias.size() * 4);
  attn_dev.upload(attn);
  ffn_norm_dev.upload(ffn_norm);
  next_norm_dev.upload(next_norm);
  o_bias_dev.upload(o_bias);
  next_bias_dev.upload(next_bias);

  // One run's buffers and arguments: h (f32, read and added to), the FFN activations, the output.
  struct Run {
    DeviceBytes h, act, out;
    ChainArgs args;
  };
  const auto make_run = [&](Run& r) {
    r.args.o = {.a = attn_dev.get(), .lda = c.k_o, .w = {wo.qs->get(), wo.d->get()},
                .bias = c.o_bias ? o_bias_dev.get<float>() : nullptr, .out = r.h.get(), .ldo = c.n_embd, .m = m};
    r.args.up = {.a = r.h.get(), .lda = c.n_embd, .w = {wg.qs->get(), wg.d->get()}, .w_up = {wu.qs->get(), wu.d->get()},
                 .out = r.act.get(), .ldo = c.n_ff, .m = m, .in_norm_weight = ffn_norm_dev.get<float>(),
                 .in_norm_eps = 1e-5f};
    r.args.down = {.a = r.act.get(), .lda = c.n_ff, .w = {wd.qs->get(), wd.d->get()}, .out = r.h.get(),
                   .ldo = c.n_embd, .m = m};
    r.args.next = {.a = r.h.get(), .lda = c.n_embd, .w = {wn.qs->get(), wn.d->get()},
                   .bias = c.next_bias ? next_bias_dev.get<float>() : nullptr, .out = r.out.get(), .ldo = c.n_next,
                   .m = m, .in_norm_weight = next_norm_dev.get<float>(), .in_norm_eps = 1e-5f};
    r.h.upload(h0);
    r.act.poison();
    r.out.poison();
  };
  const size_t h_bytes = h0.size() * 4, act_bytes = static_cast<size_t>(m) * c.n_ff * 2,
               out_bytes = static_cast<size_t>(m) * c.n_next * 4;
  Run want{DeviceBytes(h_bytes), DeviceBytes(act_bytes), DeviceBytes(out_bytes), {}};
  make_run(want);
  const MatmulShape* shapes[] = {&s.o, &s.up, &s.down, &s.next};
  const MatmulArgs* args[] = {&want.args.o, &want.args.up, &want.args.down, &want.args.next};
  for (int i = 0; i < 4; ++i) {
    const jit::KernelKey key = matmul_key(*shapes[i], m, target);
    ASSERT_EQ(key.kernel, "matvec_q8r_stream");
    matmul_launch(lib.get(key), *shapes[i], *args[i], nullptr);
  }
  jit::testing::sync_and_check("the four stream mat-vecs");
  const auto want_h = want.h.download<uint32_t>(h0.size());
  const auto want_act = want.act.download<uint16_t>(act_bytes / 2);
  const auto want_out = want.out.download<uint32_t>(out_bytes / 4);

  DeviceBytes barrier(8);
  KILN_CUDA_CHECK(cudaMemset(barrier.get(), 0, 8));
  const jit::Kernel& chain = lib.get(chain_key);
  for (int launch = 0; launch < 3; ++launch) {
    SCOPED_TRACE(::testing::Message() << "launch " << launch);
    Run got{DeviceBytes(h_bytes), DeviceBytes(act_bytes), DeviceBytes(out_bytes), {}};
    make_run(got);
    matvec_chain_launch(chain, s, got.args, barrier.get<unsigned long long>(), nullptr);
    jit::testing::sync_and_check(chain_key.str());
    const auto count = barrier.download<unsigned long long>(1);
    EXPECT_EQ(count[0], 3ull * dev.sm_count * (launch + 1)) << "every CTA arrives at the three boundaries";
    const auto first_diff = [](const auto& a, const auto& b) {
      for (size_t i = 0; i < a.size(); ++i)
        if (a[i] != b[i]) return static_cast<long long>(i);
      return -1ll;
    };
    EXPECT_EQ(first_diff(got.h.download<uint32_t>(h0.size()), want_h), -1) << "h (after o and down)";
    EXPECT_EQ(first_diff(got.act.download<uint16_t>(act_bytes / 2), want_act), -1) << "FFN activations";
    EXPECT_EQ(first_diff(got.out.download<uint32_t>(out_bytes / 4), want_out), -1) << "next product";
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(MatvecChainGpu, MatchesTheStreamMatvecs) {
  KILN_REQUIRE_GPU();
  if (jit::Device::current().cc_major < 9) GTEST_SKIP() << "matvec_chain needs sm_90";
  // qwen2-like with biases (o's tiles fewer than SMs; o's and up's K under a chunk, down's a chunk
  // and a part);
  // llama-like halves (gate+up and the LM-head-sized next: many tiles a CTA).
  const ChainCase cases[] = {{1280, 1024, 2816, 1536, true, true}, {2048, 2048, 5632, 8192, false, false}};
  for (Mode mode : {Mode::specialized, Mode::generic})
    for (const ChainCase& c : cases)
      for (int m : {1, 2}) {
        run_chain_case(mode, c, m);
        if (HasFailure()) return;
      }
}

}  // namespace
}  // namespace kiln::engine
